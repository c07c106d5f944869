# Session 16, run 10 (H200), the submitted code (run 9's kernel): memcheck
# (notes/sanitize_s15.py), the whole matmul benchmark and the auto path at
# M = 17 / 33 / 64 / 100.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 120 compute-sanitizer --tool memcheck python3 notes/sanitize_s15.py > $OUT/sanitize.txt 2>&1; echo "sanitizer rc=$?"; grep -c " ok" $OUT/sanitize.txt; grep -E "BAD|ERROR SUMMARY|Invalid" $OUT/sanitize.txt | head -5
cd benchmarks && timeout 120 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -46 $OUT/bench_matmul.txt
timeout 80 python3 test_bench_matmul.py --shapes 14336x4096 4096x14336 128256x4096 --ms 17 33 64 100 > $OUT/bench_matmul_small.txt 2>&1; tail -30 $OUT/bench_matmul_small.txt
