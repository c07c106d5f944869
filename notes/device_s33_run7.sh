# Session 33, run 7 (H200), the submitted package: probe asyncm, every matmul GPU test, the matmul benchmark, every other GPU test, memcheck of the x_shared tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 150 python3 notes/probe_s33.py precompile:shipped,a0f16 > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -3 $OUT/precompile.txt
timeout 120 python3 notes/probe_s33.py asyncm:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-200 $OUT/probe.txt
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -3 $OUT/tests_matmul.txt
(cd benchmarks && timeout 110 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -v dequant_gemm $OUT/bench_matmul.txt | tail -34)
timeout 60 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "one_row or x_shared or float32_activation_range or nonfinite" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -2 $OUT/memcheck.txt
timeout 170 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_matmul.py > $OUT/tests_other.txt 2>&1; echo "other tests rc=$?"; tail -3 $OUT/tests_other.txt
