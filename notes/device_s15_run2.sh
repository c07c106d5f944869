# Session 15, run 2 (H200): CQ_MV_EARLY (trigger after the last weight copy +
# L2 prefetch of the first stage before the wait) on full matrix-vector grids
# under PDL only, and the wgmma kernel's x through TMA: matmul + launch GPU
# tests (new: a chain test of full grids; wgmma tests with and without TMA, and
# 64-row thread blocks),
# the TMA probe (A/B against cp.async), then the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 90 python3 notes/smoke_tma_s15.py || { echo "TMA smoke failed"; exit 1; }
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -x -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR|Error" $OUT/t_matmul.txt
timeout 180 python3 notes/probe_s15.py tma 2>&1 | tee $OUT/probe_tma.txt
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -46 $OUT/bench_matmul.txt
