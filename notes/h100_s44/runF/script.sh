# Session 44 call F (H100; kind nvidia-h100-x1): the cupy cache carried from the H200 (same sm_90 builds);
# precompile (cache check); run F = probe_s43 m1h100:2 (the H100's M = 1 knobs on the three shapes short of the
# bandwidth goals); the matmul benchmark on HEAD.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader
t0=$(date +%s)
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$? $(( $(date +%s)-t0 )) s"; tail -1 $OUT/precompile.txt
timeout 300 python3 -u notes/probe_s43.py m1h100:2 > $OUT/probe_m1h100.txt 2>&1; echo "probe rc=$? $(( $(date +%s)-t0 )) s"; cut -c1-230 $OUT/probe_m1h100.txt
cd benchmarks && timeout 100 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$? $(( $(date +%s)-t0 )) s"; tail -40 $OUT/bench_matmul.txt
