# Session 31, run 6 (H200): the submitted code (no GPU code changed after runs 4-5): the matmul
# benchmark again (a second sample) and the load benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
grep -c "issue_weights" cupyquant/hip/q4_0_matmul.hip
(cd benchmarks && timeout 170 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -v dequant_gemm $OUT/bench_matmul.txt | tail -40)
timeout 110 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "load rc=$?"; grep -v "^$" $OUT/bench_load.txt | tail -30
