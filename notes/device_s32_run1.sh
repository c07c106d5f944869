# Session 32, run 1 (H200): "_xr" for 2 splits of 2+ stages from M = 8 (MV_X_RING_SHORT_SPLITS_FROM_M,
# session 31's 067c59e): probe_s31 xrshort; the x-ring / plan / read-only matmul GPU tests; the loader's
# quantized test; the matmul benchmark. A fresh machine compiles the module first (60-100 s).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
grep -c "MV_X_RING_SHORT_SPLITS_FROM_M" cupyquant/qmatmul.py
timeout 240 python3 notes/probe_s31.py xrshort:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cut -c1-300 $OUT/probe.txt
timeout 120 python3 -m pytest tests/test_matmul.py tests/test_gpu_loader.py -q -p no:cacheprovider -rs -k "x_ring or plan or read_only or capped or test_quantized" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt
(cd benchmarks && timeout 150 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -v dequant_gemm $OUT/bench_matmul.txt | tail -40)
