# Session 25, run 6 (H200): the "_xr" rule narrowed after run 5 (one wave of one thread block an SM,
# splits of 4 stages or more): its tests, memcheck of the x-ring test, then the rest of test_matmul.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 90 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "x_ring or split_k_in_clusters or auto_path or mv_plan or mv_split" > $OUT/tests_xr.txt 2>&1; echo "xr tests rc=$?"; tail -1 $OUT/tests_xr.txt; grep -m5 -E "^FAILED|^E " $OUT/tests_xr.txt
timeout 100 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "x_ring" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck.txt | tail -3
timeout 140 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x > $OUT/tests_matmul.txt 2>&1; echo "test_matmul rc=$?"; tail -1 $OUT/tests_matmul.txt; grep -m5 -E "^FAILED|^E " $OUT/tests_matmul.txt; true
