# Session 16, run 7 (H200): float32 x goes to float16 through the F32 ->
# float16 dequantization kernel instead of CuPy's astype (wgmma, mma and
# dequant_gemm paths): matmul GPU tests and the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 240 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -46 $OUT/bench_matmul.txt
timeout 100 python3 test_bench_matmul.py --shapes 14336x4096 4096x14336 128256x4096 --ms 17 33 64 100 > $OUT/bench_matmul_small.txt 2>&1; tail -30 $OUT/bench_matmul_small.txt
