# Session 44 run 1 (H100): precompile; GPU tests of test_matmul + test_launch on HEAD (663a93b's dtype_name memo
# has not run on a GPU); run F (probe_s43 m1h100:2, the H100's M = 1 knobs); the cupy cache back for later calls.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader
t0=$(date +%s)
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$? $(( $(date +%s)-t0 )) s"; tail -1 $OUT/precompile.txt
(cd build && tar czf $OUT/cupy_cache.tgz cupy_cache) ; ls -la $OUT/cupy_cache.tgz
timeout 170 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/tests.txt 2>&1; echo "tests rc=$? $(( $(date +%s)-t0 )) s"; grep -E "^(FAILED|ERROR)" $OUT/tests.txt | head -20 | cut -c1-300; tail -2 $OUT/tests.txt
timeout 250 python3 -u notes/probe_s43.py m1h100:2 > $OUT/probe_m1h100.txt 2>&1; echo "probe rc=$? $(( $(date +%s)-t0 )) s"; cut -c1-220 $OUT/probe_m1h100.txt
