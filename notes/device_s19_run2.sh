# Session 19, run 2 (H200): the next-tile copies only where the x_shared
# thread blocks take tiles from a queue (run 1: one tile a block was 2%
# slower); against CQ_MV_XTILE 0, unbounded registers and 3-stage rings on
# the one-wave shapes; matrix-vector GPU tests; memcheck of the queue test.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "x_shared or matvec" > $OUT/t_mv.txt 2>&1; echo "mv tests rc=$?"; tail -1 $OUT/t_mv.txt; grep -m8 -E "^FAILED|^ERROR|Error" $OUT/t_mv.txt
timeout 380 python3 notes/probe_s19.py mv2 > $OUT/probe_mv2.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_mv2.txt
timeout 60 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "tile_queue" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck.txt | tail -3
