# Session 31, run 4 (H200): the read-only bit in every tensor-core matrix-vector kernel: probe_s31 ro
# (the bit on / off); the matmul benchmark; the matmul GPU tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
grep -c "issue_weights" cupyquant/hip/q4_0_matmul.hip
timeout 150 python3 notes/probe_s31.py ro:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cut -c1-330 $OUT/probe.txt
(cd benchmarks && timeout 170 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -v dequant_gemm $OUT/bench_matmul.txt | tail -40)
timeout 240 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "tests rc=$?"; tail -6 $OUT/tests_matmul.txt
