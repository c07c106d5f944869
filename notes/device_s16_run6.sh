# Session 16, run 6 (H200), the submitted code (the float32-records kernels of
# the matrix-vector path compile without the early path again, as in session
# 14): matmul + launch GPU tests, compute-sanitizer memcheck
# (notes/sanitize_s15.py), the matmul benchmark and the auto path at
# M = 17 / 33 / 64 / 100.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 240 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 200 compute-sanitizer --tool memcheck python3 notes/sanitize_s15.py > $OUT/sanitize.txt 2>&1; echo "sanitizer rc=$?"; grep -c " ok" $OUT/sanitize.txt; grep -E "BAD|ERROR SUMMARY|Invalid" $OUT/sanitize.txt | head -5
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -46 $OUT/bench_matmul.txt
timeout 100 python3 test_bench_matmul.py --shapes 14336x4096 4096x14336 128256x4096 --ms 17 33 64 100 > $OUT/bench_matmul_small.txt 2>&1; tail -30 $OUT/bench_matmul_small.txt
