# Session 16, run 9 (H200): the wgmma weights asked for 4 stages ahead: A/B
# against the code of run 7 (probe part wg3), wgmma GPU tests, memcheck,
# the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 notes/probe_s16.py wg3 > $OUT/probe_wg3.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_wg3.txt
timeout 150 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 100 compute-sanitizer --tool memcheck python3 notes/sanitize_s15.py > $OUT/sanitize.txt 2>&1; echo "sanitizer rc=$?"; grep -c " ok" $OUT/sanitize.txt; grep -E "BAD|ERROR SUMMARY|Invalid" $OUT/sanitize.txt | head -5
cd benchmarks && timeout 100 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -E "wgmma|copy" $OUT/bench_matmul.txt
