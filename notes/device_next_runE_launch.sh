# Next device session, run E (one call, about 5 min, H100 or H200; after run B): the STAGED driver-launch
# argument packing and config cache (notes/staged/launch_packed_args.patch, session 43; the driver path of PDL,
# cluster and TMA launches: 7.5 -> 4.9 us of Python a 13-argument launch on the 2-core CI-like machine, its
# CPU test checks every kernelParams entry byte for byte against the old ctypes values). Applied on the device
# copy only. Ship it (git apply, commit) only if every test below passes and the host benchmark's floor and
# matmul time for 4096^2 M = 8 float16 (a cluster launch) and M = 512 (wgmma, TMA) drop against the package
# without it, run alternately in the same call.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
cp -r cupyquant /tmp/before_cupyquant_pkg && mkdir -p /tmp/before && mv /tmp/before_cupyquant_pkg /tmp/before/cupyquant
git apply notes/staged/launch_packed_args.patch || { echo "patch does not apply"; exit 3; }
timeout 120 python3 notes/probe_s36.py precompile:shipped > /tmp/precompile.txt 2>&1; echo "precompile rc=$?"
timeout 240 python3 -m pytest tests/test_launch.py tests/test_matmul.py tests/test_gpu_dequant.py tests/test_gpu_loader.py -q -p no:cacheprovider -rs -x > $OUT/tests.txt 2>&1; echo "tests rc=$?"; grep -E "^(FAILED|ERROR)" $OUT/tests.txt | head; tail -2 $OUT/tests.txt
cd benchmarks
for run in 1_patched 2_before 3_before 4_patched; do
  if [ ${run#*_} = before ]; then pp=/tmp/before:$PYTHONPATH; else pp=$PYTHONPATH; fi
  PYTHONPATH=$pp timeout 60 python3 test_bench_matmul_host.py > $OUT/host_$run.txt 2>&1; echo "host bench ($run) rc=$?"; cut -c1-200 $OUT/host_$run.txt
done
