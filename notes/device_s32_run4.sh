# Session 32, run 4 (H200): as run 3, the x_shared fill reading float32 x once (copied as it is into the records, then split in place):
# every matmul GPU test, the matmul benchmark, then memcheck of the new float32 tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
timeout 200 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -x > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -5 $OUT/tests.txt
(cd benchmarks && timeout 150 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -v dequant_gemm $OUT/bench_matmul.txt | grep -v " 512 " | tail -40)
timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "float32_activation_range or nonfinite_activations or x_shared_or_not" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck.txt | tail -3
