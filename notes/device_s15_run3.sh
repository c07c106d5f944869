# Session 15, run 3 (H200): wgmma with x through TMA: ring depth (CQ_WG_STAGES
# 4 / 5 / 6) at M = 512 / 1000, and 64-row thread blocks for M <= 64 (TMA box
# of M rounded up to 8 rows) against 128, TMA and cp.async; the wgmma GPU tests
# on that code.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 60 python3 notes/smoke_tma_s15.py || { echo "TMA smoke failed"; exit 1; }
timeout 240 python3 notes/probe_s15.py wgst 2>&1 | tee $OUT/probe_wgst.txt
timeout 150 python3 -m pytest tests/test_matmul.py -q -x -p no:cacheprovider -rs -k "wgmma" > $OUT/t_wgmma.txt 2>&1; echo "wgmma tests rc=$?"; tail -2 $OUT/t_wgmma.txt; grep -m8 -E "^FAILED|^ERROR|Error" $OUT/t_wgmma.txt
