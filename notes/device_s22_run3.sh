# Session 22, run 3 (H200): every GPU test on the submitted code (run 2's
# subset of the tests timed out while the module compiled on a fresh machine).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 450 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/t_all.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_all.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_all.txt
# ... and probe part loadparts (the load with parts of the loader cut out)
timeout 120 python3 notes/probe_s22.py loadparts > $OUT/probe_loadparts.txt 2>&1; echo "loadparts rc=$?"; cat $OUT/probe_loadparts.txt
