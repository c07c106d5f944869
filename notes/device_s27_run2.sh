# Session 27, run 2 (H200): the "_xr" rule with MV_X_RING_MIN_WORK (probe
# xrplan), the matmul and load benchmarks, every GPU test.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
git log --oneline -1
timeout 120 python3 notes/probe_s27.py xrplan:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
(cd benchmarks && timeout 150 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1); echo "bench rc=$?"
timeout 60 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "load rc=$?"
timeout 220 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"
tail -4 $OUT/tests.txt; tail -30 $OUT/bench_matmul.txt; tail -25 $OUT/bench_load.txt
