# Session 38, run 2 (H200) -- NEVER RAN (no machine lent in sessions 37-38). notes/device_s37_run2.sh plus session 38's staged GPU test fixes: run after `git cherry-pick c0be327 9b395da` and notes/device_s37_run1.sh on the same machine. Every GPU test (the matmul file with 9b395da's stricter argument, bit and PDL checks; dequantization, loader, demo, launch), then the matmul benchmark. The compile-only test files are left out (no hiprtc / clang there).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
grep -q "config_spy" tests/test_launch.py || { echo "9b395da not cherry-picked"; exit 3; }
grep -q "MV_F32_QUEUE_ROWS = " cupyquant/qmatmul.py || { echo "c0be327 not cherry-picked"; exit 3; }
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py cupyquant/matmul_kernels.py tests/test_matmul.py tests/test_launch.py
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -1 $OUT/precompile.txt
timeout 300 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_amd_decode_folding.py > $OUT/tests_all.txt 2>&1; echo "GPU tests rc=$?"; tail -4 $OUT/tests_all.txt
cd benchmarks && timeout 140 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -30 $OUT/bench_matmul.txt
