# Session 26, run 1 (H200): the code as submitted in session 25 (0cc6931): every GPU test (the
# final forms of test_matvec_x_ring / test_x_ring_plan_rule had not run), probe xrrule (the "_xr"
# rule's edges: forced split counts 1-4 on long-K shapes), the load benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 290 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/tests.txt
timeout 150 python3 notes/probe_s25.py xrrule:1 > $OUT/probe_xrrule.txt 2>&1; echo "xrrule rc=$?"; tail -40 $OUT/probe_xrrule.txt
timeout 130 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"; grep -E "^  (load|first|fresh|h2d|host|CPU|sweep|ratio|peak|device|path)" $OUT/bench_load.txt | head -40; tail -3 $OUT/bench_load.txt; true
