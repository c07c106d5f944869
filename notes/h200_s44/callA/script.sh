# Session 44 call A: HEAD with BOTH staged patches applied on the device copy (notes/staged/wgmma_x_f32_stages.patch,
# the float32 x conversion overlapped with wgmma; notes/staged/launch_packed_args.patch, the driver-launch argument
# packing). Precompile; the stages test first with a short limit (a wait that never ends shows there); every test of
# test_matmul + test_launch (HEAD's 663a93b dtype_name memo has not run on a GPU either); memcheck of one stages case;
# the cupy cache and the untouched package copy kept in build/ for call B.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader
t0=$(date +%s)
rm -rf build/before && mkdir -p build/before && cp -r cupyquant build/before/cupyquant
git apply notes/staged/wgmma_x_f32_stages.patch notes/staged/launch_packed_args.patch || { echo "patches do not apply"; exit 3; }
git diff --stat | tail -1
timeout 170 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$? $(( $(date +%s)-t0 )) s"; tail -1 $OUT/precompile.txt
timeout 60 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -x -k "x_f32_stages" > $OUT/tests_stages.txt 2>&1; echo "stages tests rc=$? $(( $(date +%s)-t0 )) s"; tail -5 $OUT/tests_stages.txt | cut -c1-300
timeout 230 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/tests.txt 2>&1; echo "tests rc=$? $(( $(date +%s)-t0 )) s"; grep -E "^(FAILED|ERROR)" $OUT/tests.txt | head -20 | cut -c1-300; tail -3 $OUT/tests.txt | cut -c1-300
timeout 70 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "x_f32_stages and 300-14336" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$? $(( $(date +%s)-t0 )) s"; tail -3 $OUT/memcheck.txt | cut -c1-300
