# Session 19, run 4 (H200): the submitted kernels (all but the new "_xsq"
# SASS-identical to the session's start; "_xsq" identical to run 3's
# "nofill" module): every GPU test (tests/test_compile.py needs Debian's
# hiprtc and runs in CI), memcheck (notes/sanitize_s18.py: its full
# matrix-vector grids at N = 11264 now take "_xsq"; the queue tests).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 280 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/t_all.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_all.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_all.txt
timeout 120 compute-sanitizer --tool memcheck python3 notes/sanitize_s18.py > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -c " ok$" $OUT/memcheck.txt; grep -c "BAD" $OUT/memcheck.txt; tail -1 $OUT/memcheck.txt
timeout 60 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "tile_queue or tiles_are_many" > $OUT/memcheck_q.txt 2>&1; echo "memcheck q rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck_q.txt | tail -3
