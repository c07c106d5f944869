# Session 39, run 2 (H200): after run 1 (notes/device_s37_run1.sh, outputs in notes/h200_s39/run1) chose
# MV_F32_QUEUE_ROWS = (2, 4). Every GPU test (with session 38's stricter argument, bit and PDL checks), then the
# matmul benchmark, on the package as submitted. Compile-only test files left out (no hiprtc / clang there).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
grep -q "config_spy" tests/test_launch.py || { echo "9b395da not applied"; exit 3; }
grep -q "MV_F32_QUEUE_ROWS = (2, 4)" cupyquant/qmatmul.py || { echo "MV_F32_QUEUE_ROWS not (2, 4)"; exit 3; }
git log -1 --format=%h 2>/dev/null; md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py cupyquant/matmul_kernels.py tests/test_matmul.py tests/test_launch.py
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -1 $OUT/precompile.txt
timeout 300 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_amd_decode_folding.py > $OUT/tests_all.txt 2>&1; echo "GPU tests rc=$?"; tail -4 $OUT/tests_all.txt
cd benchmarks && timeout 130 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -40 $OUT/bench_matmul.txt
