# Session 22, run 2 (H200): the -G compile test and the split / cluster tests
# on the submitted kernels (SASS identical to run 1's, the split-sum lambda
# written with a bool); probe parts gsplit and pipe; the load benchmark
# (with three small-slot settings in its sweep); the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs -k "every_kernel_name or cluster or split or launch or pdl" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/tests.txt; grep -m5 -E "^FAILED|^ERROR" $OUT/tests.txt
timeout 150 python3 notes/probe_s22.py gsplit > $OUT/probe_gsplit.txt 2>&1; echo "gsplit rc=$?"; cat $OUT/probe_gsplit.txt
timeout 60 python3 notes/probe_s22.py pipe > $OUT/probe_pipe.txt 2>&1; echo "pipe rc=$?"; cat $OUT/probe_pipe.txt
timeout 90 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"; grep -E "^  (load|first|host|CPU|sweep)" $OUT/bench_load.txt
cd benchmarks && timeout 150 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; head -60 $OUT/bench_matmul.txt
