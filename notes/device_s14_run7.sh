# Session 14, run 7 (H200): the wgmma path in the package (q4_0_matmul_sm90.hip,
# compiled for sm_90a through CuPy): matmul + launch GPU tests, the M thresholds
# between matvec / wgmma / dequant_gemm, the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
python3 -c "
import cupyquant.qmatmul as mm
print('wgmma available', mm.wgmma_available(0), mm.wgmma_error)" 2>&1 | tail -3
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_matmul.txt
timeout 150 python3 notes/probe_s14.py mthr 2>&1 | tee $OUT/probe_mthr.txt
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; cat $OUT/bench_matmul.txt | tail -45
