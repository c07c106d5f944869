# Session 26, run 2 (H200): the "_xr" rule of this session (sms // tiles splits, at least 7
# stages a split, at least 0.7 of the SMs): every GPU test, probe rule (against off, forced and
# session 25's rule) and m1n (M = 1 over N against a plain read), the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 290 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/tests.txt
timeout 100 python3 notes/probe_s26.py rule:2 m1n > $OUT/probe.txt 2>&1; echo "probe rc=$?"; tail -80 $OUT/probe.txt
(cd benchmarks && timeout 150 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -E "copy|float16|float32" $OUT/bench_matmul.txt | head -40); true
