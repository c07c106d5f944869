# Session 21, run 3 (H200): probe part splits (every K split count on
# shapes with fewer tiles than resident thread blocks; clusters where one
# wave, as shipped after run 2), and the cluster tests with the one-wave rule.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs -k "cluster" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt
timeout 400 python3 notes/probe_s21.py splits > $OUT/probe_splits.txt 2>&1; echo "probe splits rc=$?"; cat $OUT/probe_splits.txt
