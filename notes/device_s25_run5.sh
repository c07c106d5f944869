# Session 25, run 5 (H200): the "_xr" plan as shipped (MV_X_RING): every GPU test, the matmul
# benchmark, memcheck of the new x-ring test, probe xron (the plan on and off, long-K shapes).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 280 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/tests.txt
(cd benchmarks && timeout 140 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -E "copy|float16|float32" $OUT/bench_matmul.txt | head -40)
timeout 70 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "x_ring" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck.txt | tail -3
timeout 80 python3 notes/probe_s25.py xron:2 > $OUT/probe_xron.txt 2>&1; echo "xron rc=$?"; tail -32 $OUT/probe_xron.txt; true
