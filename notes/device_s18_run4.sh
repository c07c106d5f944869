# Session 18, run 4 (H200): the submitted code: the matmul benchmark, the
# automatic path on the shapes of runs 1-3 (probe part auto), the matmul +
# launch GPU tests, memcheck (notes/sanitize_s18.py).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
cd benchmarks && timeout 150 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -E "copy|wgmma| 1 float| 8 float" $OUT/bench_matmul.txt | head -40; cd ..
timeout 80 python3 notes/probe_s18.py auto > $OUT/probe_auto.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_auto.txt
timeout 250 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_matmul.txt
timeout 100 compute-sanitizer --tool memcheck python3 notes/sanitize_s18.py > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -c " ok$" $OUT/memcheck.txt; grep -c "BAD" $OUT/memcheck.txt; tail -1 $OUT/memcheck.txt
