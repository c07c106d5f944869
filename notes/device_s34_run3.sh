# Session 34, run 3 (H200), the package as submitted ("_xsq1c" in its band): every matmul GPU test, the matmul benchmark, memcheck of the x_shared tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 130 python3 notes/probe_s34.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -2 $OUT/precompile.txt
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -3 $OUT/tests_matmul.txt
(cd benchmarks && timeout 130 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -v dequant_gemm $OUT/bench_matmul.txt | tail -34)
timeout 80 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "one_row or x_shared or tiles_are_many or float32_activation_range or nonfinite" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -2 $OUT/memcheck.txt
