# Session 19, run 8 (H200): "_xsq" with only two warps copying the full weight
# stages (XQ = 2) against the run-5 "_xsq" (every thread copies) and "_xs", one
# module (probe part cw, first: it matters most); matrix-vector GPU tests;
# memcheck of the queue tests. Short: 337 s of device time were left.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 90 python3 notes/probe_s19.py cw > $OUT/probe_cw.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_cw.txt
timeout 70 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "x_shared or matvec or queue" > $OUT/t_mv.txt 2>&1; echo "mv tests rc=$?"; tail -1 $OUT/t_mv.txt; grep -m8 -E "^FAILED|^ERROR|Error" $OUT/t_mv.txt
timeout 30 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "tile_queue" > $OUT/memcheck_q.txt 2>&1; echo "memcheck q rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck_q.txt | tail -3
