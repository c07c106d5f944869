# Session 29, run 6 (H200): the matmul benchmark on the submitted code (its
# kernels are session 28's; the planning's CUfunction handle was refactored
# after session 28's last benchmark).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
cd benchmarks && timeout 240 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"
tail -60 $OUT/bench_matmul.txt
