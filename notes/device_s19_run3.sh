# Session 19, run 3 (H200): "_xsq" kernels (next tile's first stage during the
# last, float16 x grids with a queue) and the float16 x_shared fill by
# cp.async + permute in shared memory, each against its absence; matrix-vector
# GPU tests; memcheck of the x_shared tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "x_shared or matvec or queue" > $OUT/t_mv.txt 2>&1; echo "mv tests rc=$?"; tail -1 $OUT/t_mv.txt; grep -m8 -E "^FAILED|^ERROR|Error" $OUT/t_mv.txt
timeout 330 python3 notes/probe_s19.py mv3 > $OUT/probe_mv3.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_mv3.txt
timeout 120 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "tile_queue or x_shared_or_not or tiles_are_many" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck.txt | tail -3
