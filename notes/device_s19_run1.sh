# Session 19, run 1 (H200): matrix-vector x_shared kernels whose ring runs on
# from one tile into the next (CQ_MV_XTILE) against the source with it off;
# the matmul GPU tests (new: test_matvec_x_shared_tile_queue); memcheck of
# the new test's cases.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "x_shared or matvec" > $OUT/t_mv.txt 2>&1; echo "mv tests rc=$?"; tail -1 $OUT/t_mv.txt; grep -m8 -E "^FAILED|^ERROR|Error" $OUT/t_mv.txt
timeout 250 python3 notes/probe_s19.py xtile > $OUT/probe_xtile.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_xtile.txt
timeout 120 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "tile_queue" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck.txt | tail -3
