# Session 14, run 8 (H200): the submitted matmul rules (wgmma above one matvec
# pass where its grid is large): matmul + launch GPU tests, compute-sanitizer
# memcheck of the wgmma kernels, the auto choices at M = 16-128, the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 150 compute-sanitizer --tool memcheck python3 notes/sanitize_s14.py > $OUT/sanitize.txt 2>&1; echo "sanitizer rc=$?"; grep -c " ok" $OUT/sanitize.txt; grep -E "BAD|ERROR SUMMARY|Invalid" $OUT/sanitize.txt | head -5
PROBE_MTHR_SHORT=1 timeout 100 python3 notes/probe_s14.py mthr 2>&1 | tee $OUT/probe_mthr.txt
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -46 $OUT/bench_matmul.txt
