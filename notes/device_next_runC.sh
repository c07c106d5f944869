# Next device session, run C (one call, about 3 min, H100 or H200): session 42's GPU loader changes on a
# real GPU. gpu/loader.py was split (gpu/load_plan.py, gpu/host_reader.py) and the in-place path now drops an
# F32 piece's device copy after its kernel is queued; both ran only on tests/gpu_sim.py's simulated machine.
# The loader's GPU tests, then the load benchmark: its load time against session 31's (1.41x the pinned copy)
# and the sweep (the same settings as before; host_fill_gbps now passes the thread count to the reader).
# Then (session 43) the host time of a matmul call against CuPy's floor, on the package as submitted and on
# session 43's start (addf4df: its cupyquant/ carried as build/start_s43_cupyquant.tgz, made with
# `git archive --format=tar.gz -o build/start_s43_cupyquant.tgz addf4df cupyquant`; carry ["build/start_s43_cupyquant.tgz", ".whl"]).
# Both orders, so that a warmer second run does not pass for a gain. The matmul module compiles first (about 60 s).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
git log -1 --format=%h 2>/dev/null; nvidia-smi --query-gpu=name,count --format=csv,noheader
timeout 90 python3 -m pytest tests/test_gpu_loader.py tests/test_inplace.py tests/test_loader_sim.py -q -p no:cacheprovider -rs > $OUT/t_loader.txt 2>&1; echo "loader tests rc=$?"; tail -1 $OUT/t_loader.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_loader.txt | cut -c1-300
timeout 200 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider --benchmark-json=$OUT/load.json > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"
grep -E "^  |^load_gguf" $OUT/bench_load.txt | cut -c1-250
mkdir -p /tmp/start && tar -xzf build/start_s43_cupyquant.tgz -C /tmp/start || echo "no start archive"
cd benchmarks
for run in 1_now 2_start 3_now 4_start; do
  if [ ${run#*_} = start ]; then pp=/tmp/start:$PYTHONPATH; else pp=$PYTHONPATH; fi
  PYTHONPATH=$pp timeout 150 python3 test_bench_matmul_host.py --json $OUT/host_$run.json > $OUT/host_$run.txt 2>&1; echo "host bench ($run) rc=$?"; cut -c1-200 $OUT/host_$run.txt
done
cd ..
