# Session 32, run 6 (H200), the submitted package: every GPU test (matmul, then the others), the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
git log --oneline -1 2>/dev/null; md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 240 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -3 $OUT/tests_matmul.txt
(cd benchmarks && timeout 120 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -v dequant_gemm $OUT/bench_matmul.txt | tail -34)
timeout 200 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_matmul.py > $OUT/tests_other.txt 2>&1; echo "other tests rc=$?"; tail -3 $OUT/tests_other.txt
