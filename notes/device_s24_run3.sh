# Session 24, run 3 (H200): float16 / bfloat16 y of the unsplit wgmma launches
# through shared memory (stmatrix): every GPU test, probe part "epi" (A/B
# against the direct stores in one module), memcheck of the new test.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 330 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/tests.txt
timeout 150 python3 notes/probe_s24.py epi 2 > $OUT/probe_epi.txt 2>&1; echo "epi rc=$?"; tail -16 $OUT/probe_epi.txt
timeout 80 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "half_outputs" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck.txt | tail -3; true
