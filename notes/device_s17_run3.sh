# Session 17, run 3 (H200): the code with the new split-K sum and plan rules:
# matmul + launch GPU tests, memcheck (notes/sanitize_s17.py), the matmul
# benchmark, and deeper x rings on one-wave grids (probe part ring).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs -x > $OUT/t_matmul.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_matmul.txt
timeout 120 compute-sanitizer --tool memcheck python3 notes/sanitize_s17.py > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -c " ok$" $OUT/memcheck.txt; grep -c "BAD" $OUT/memcheck.txt; tail -3 $OUT/memcheck.txt
cd benchmarks && timeout 120 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; cat $OUT/bench_matmul.txt | tail -40; cd ..
timeout 90 python3 notes/probe_s17.py ring > $OUT/probe_ring.txt 2>&1; echo "ring rc=$?"; cat $OUT/probe_ring.txt
