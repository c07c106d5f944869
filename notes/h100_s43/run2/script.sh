# Session 43, run 2 (H100, the last call the budget allows): run 1 showed test_matmul's GPU tests failing in
# _need_tensor_cores (an import of a name the session-41 package split moved: test code only) and the test run
# cut at 280 s. The fixed test_matmul.py in full, then the host-time benchmark on the submitted package and on
# session 43's start (build/start_s43_cupyquant.tgz), twice each in alternating order, then the load benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
nvidia-smi --query-gpu=name --format=csv,noheader
timeout 120 python3 notes/probe_s36.py precompile:shipped > /tmp/precompile.txt 2>&1; echo "precompile rc=$?"; tail -2 /tmp/precompile.txt
timeout 270 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; grep -E "^(FAILED|ERROR)" $OUT/tests_matmul.txt | head -20 | cut -c1-300; tail -2 $OUT/tests_matmul.txt
mkdir -p /tmp/start && tar -xzf build/start_s43_cupyquant.tgz -C /tmp/start || echo "no start archive"
cd benchmarks
for run in 1_now 2_start 3_start 4_now; do
  if [ ${run#*_} = start ]; then pp=/tmp/start:$PYTHONPATH; else pp=$PYTHONPATH; fi
  js=""; case $run in 1_now|2_start) js="--json $OUT/host_$run.json";; esac   # 8 files come back at most
  PYTHONPATH=$pp timeout 60 python3 test_bench_matmul_host.py $js > $OUT/host_$run.txt 2>&1; echo "host bench ($run) rc=$?"; cut -c1-200 $OUT/host_$run.txt
done
cd ..
timeout 100 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"
grep -E "^  |^load_gguf" $OUT/bench_load.txt | cut -c1-250
