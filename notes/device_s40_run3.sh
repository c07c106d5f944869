# Session 40, run 3 (H200): probe_s40 xconv (float32 x at M = 512 with the conversion overlapped, 0.5-4 converting
# thread blocks an SM, against the conversion first), then the matmul benchmark on the package as submitted.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
git log -1 --format=%h 2>/dev/null; md5sum cupyquant/hip/q4_0_matmul_sm90.hip cupyquant/qmatmul.py
timeout 280 python3 -u notes/probe_s40.py xconv:2 2>&1 | tee $OUT/probe_xconv.txt | cut -c1-250
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -40 $OUT/bench_matmul.txt
