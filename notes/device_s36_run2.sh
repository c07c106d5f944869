# Session 36, run 2 (H200): the submitted matmul code (float32 "_xsb3" only; the float16 bounded builds of run 1 removed): knob on / off, every matmul GPU test, memcheck, the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py cupyquant/matmul_kernels.py tests/test_matmul.py
timeout 170 python3 notes/probe_s35.py precompile:shipped,nobf16 > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -3 $OUT/precompile.txt
timeout 100 python3 notes/probe_s36.py regb2:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-220 $OUT/probe.txt
timeout 200 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -4 $OUT/tests_matmul.txt
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "reg_bound or tile_queue or x_shared" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -2 $OUT/memcheck.txt
cd benchmarks && timeout 150 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; cut -c1-200 $OUT/bench_matmul.txt | tail -45
