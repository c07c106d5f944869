# Session 21, run 5 (H200): probe part ab (session 20's split rules against
# the new: model split counts at long K, clusters on one-wave split grids).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 300 python3 notes/probe_s21.py ab > $OUT/probe_ab.txt 2>&1; echo "probe ab rc=$?"; cat $OUT/probe_ab.txt
