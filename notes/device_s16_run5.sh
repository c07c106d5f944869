# Session 16, run 5 (H200), the submitted code: the matmul benchmark and the
# auto path at M = 17 / 33 / 64 / 100 on the mid shapes and 128256 x 4096;
# first the wgmma GPU tests again (run 4: the 256-row cases of
# test_wgmma_accuracy at M <= 128 ran 128-row blocks under WGMMA_WIDE_MIN_M).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "wgmma" > $OUT/t_wgmma.txt 2>&1; echo "wgmma tests rc=$?"; tail -1 $OUT/t_wgmma.txt; grep -m5 -E "^FAILED" $OUT/t_wgmma.txt
cd benchmarks && timeout 230 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -46 $OUT/bench_matmul.txt
timeout 120 python3 test_bench_matmul.py --shapes 14336x4096 4096x14336 128256x4096 --ms 17 33 64 100 > $OUT/bench_matmul_small.txt 2>&1; tail -30 $OUT/bench_matmul_small.txt
