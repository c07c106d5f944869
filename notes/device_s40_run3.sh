# Session 40, run 3 (H200): the matmul benchmark on the package as submitted, probe_s40 mvf32 (the float32 M = 1
# plan rules against session 39's plan) and a second round of xconv, then the GPU tests of the other files.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
git log -1 --format=%h 2>/dev/null; md5sum cupyquant/hip/q4_0_matmul_sm90.hip cupyquant/qmatmul.py
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -40 $OUT/bench_matmul.txt; cd ..
timeout 100 python3 -u notes/probe_s40.py mvf32:2 2>&1 | tee $OUT/probe_mvf32.txt | cut -c1-200
timeout 100 python3 -u notes/probe_s40.py xconv:1 2>&1 | tee $OUT/probe_xconv2.txt | cut -c1-250
timeout 150 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_amd_decode_folding.py --ignore=tests/test_matmul.py --ignore=tests/test_launch.py > $OUT/tests_other.txt 2>&1; echo "other GPU tests rc=$?"; tail -3 $OUT/tests_other.txt
