# Session 39, run 4 (H200): probe_s39 rows (one column tile against two, float32 x M = 4-8, float16 x M = 8-16), then
# racecheck and memcheck of the float32 queue kernel's GPU tests (the kernel ships from this session on, M = 2-4).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
grep -q "MV_F32_QUEUE_ROWS = (2, 4)" cupyquant/qmatmul.py || exit 3
timeout 200 python3 notes/probe_s39.py rows > $OUT/probe_rows.txt 2>&1; echo "rows rc=$?"; cat $OUT/probe_rows.txt
timeout 100 compute-sanitizer --tool racecheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "f32_queue_kernels and 30001-0" > $OUT/racecheck.txt 2>&1; echo "racecheck rc=$?"; tail -3 $OUT/racecheck.txt
timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "tile_queue" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -2 $OUT/memcheck.txt
