# Next device session, run B (one 600 s call; the first call owed since session 43's H100 runs, which ran
# every GPU test, the matmul and load benchmarks and the host-time benchmark): the STAGED float32 x conversion overlapped with the
# wgmma kernel (notes/staged/wgmma_x_f32_stages.patch, applied here on the device copy only). Its own test first
# with a short limit (a wait that never ends shows there), the wgmma / launch tests, memcheck of one case,
# probe_s40 xconv (0.5-4 converter blocks an SM against converting first), then the benchmark with it.
# Ship it (git apply, commit) only if the tests pass and xconv beats "off" on 4096^2 and 4096 x 14336.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
git apply notes/staged/wgmma_x_f32_stages.patch || { echo "patch does not apply"; exit 3; }
md5sum cupyquant/qmatmul/wgmma.py cupyquant/qmatmul/runtime.py cupyquant/hip/q4_0_matmul_sm90.hip | cut -c1-12,34-
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -1 $OUT/precompile.txt
timeout 90 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -x -k "x_f32_stages" > $OUT/tests_stages.txt 2>&1; echo "stages tests rc=$?"; tail -30 $OUT/tests_stages.txt | cut -c1-300
timeout 120 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs -k "wgmma or launch" > $OUT/tests_wgmma.txt 2>&1; echo "wgmma tests rc=$?"; grep -E "^(FAILED|ERROR)" $OUT/tests_wgmma.txt | head -20 | cut -c1-300; tail -2 $OUT/tests_wgmma.txt
timeout 80 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "x_f32_stages and 3-64" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -3 $OUT/memcheck.txt
timeout 100 python3 -u notes/probe_s40.py xconv:2 2>&1 | tee $OUT/probe_xconv.txt | cut -c1-250
cd benchmarks && timeout 100 python3 test_bench_matmul.py --json $OUT/bench_matmul_staged.json > $OUT/bench_matmul_staged.txt 2>&1; echo "bench rc=$?"; tail -40 $OUT/bench_matmul_staged.txt; cd ..
