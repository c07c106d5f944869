# Session 44 call D (warm H200 after call C): HEAD as committed (both staged patches reverted): precompile, every
# test of test_matmul + test_launch; then notes/s44/probe_read.py (mmap against pread, medians of 8 loads each).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
t0=$(date +%s)
git status --short | head -5
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$? $(( $(date +%s)-t0 )) s"; tail -1 $OUT/precompile.txt
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs -rf > $OUT/tests.txt 2>&1; echo "tests rc=$? $(( $(date +%s)-t0 )) s"; grep -E "^(FAILED|ERROR)" $OUT/tests.txt | head -20 | cut -c1-300; tail -3 $OUT/tests.txt | cut -c1-300
timeout 150 python3 -u notes/s44/probe_read.py 8 > $OUT/probe_read.txt 2>&1; echo "probe_read rc=$? $(( $(date +%s)-t0 )) s"; cat $OUT/probe_read.txt | cut -c1-200
