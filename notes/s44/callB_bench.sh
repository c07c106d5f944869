# Session 44 call B (same warm machine, after call A): both staged patches applied again on the fresh copy;
# probe_s40 xconv (float32 x M = 512: the overlapped conversion at 0.5-4 blocks an SM against converting first);
# the matmul benchmark with them; the host-time benchmark with and without the launch packing, alternately
# (build/before holds the untouched package, made by call A).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
t0=$(date +%s)
ls build/before/cupyquant/__init__.py || exit 4
git apply notes/staged/wgmma_x_f32_stages.patch notes/staged/launch_packed_args.patch || { echo "patches do not apply"; exit 3; }
timeout 130 python3 -u notes/probe_s40.py xconv:2 > $OUT/probe_xconv.txt 2>&1; echo "xconv rc=$? $(( $(date +%s)-t0 )) s"; cut -c1-200 $OUT/probe_xconv.txt
cd benchmarks && timeout 110 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$? $(( $(date +%s)-t0 )) s"; tail -40 $OUT/bench_matmul.txt
for run in 1_patched 2_before 3_before 4_patched; do
  if [ ${run#*_} = before ]; then pp=$PWD/../build/before:$PYTHONPATH; else pp=$PYTHONPATH; fi
  PYTHONPATH=$pp timeout 55 python3 test_bench_matmul_host.py > $OUT/host_$run.txt 2>&1; echo "host bench ($run) rc=$? $(( $(date +%s)-t0 )) s"; cut -c1-200 $OUT/host_$run.txt
done
