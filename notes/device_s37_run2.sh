# Session 37, run 2 (H200) -- NEVER RAN (no machine lent). Right after run1.sh on the same machine, same checkout (c0be327 cherry-picked): every GPU test (matmul and the rest: dequantization, loader, demo; the latter not run since session 35), the matmul benchmark for the issue 5 table.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py cupyquant/matmul_kernels.py tests/test_matmul.py
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -1 $OUT/precompile.txt
timeout 300 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests_all.txt 2>&1; echo "GPU tests rc=$?"; tail -4 $OUT/tests_all.txt
cd benchmarks && timeout 140 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -30 $OUT/bench_matmul.txt
