# Session 16, run 9 (H200): the wgmma weights asked for 4 stages ahead: A/B
# against the code of run 7 (probe part wg3), the wgmma GPU tests, the matmul
# benchmark at M = 512.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 notes/probe_s16.py wg3 > $OUT/probe_wg3.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_wg3.txt
timeout 120 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "wgmma" > $OUT/t_wgmma.txt 2>&1; echo "wgmma tests rc=$?"; tail -1 $OUT/t_wgmma.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_wgmma.txt
cd benchmarks && timeout 100 python3 test_bench_matmul.py --ms 512 --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -E "wgmma|dequant_gemm|copy" $OUT/bench_matmul.txt
