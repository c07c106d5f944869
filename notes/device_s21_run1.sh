# Session 21, run 1 (H200): probe part nosum (split-K without its sum: the
# most a cluster (distributed shared memory) sum could give).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 420 python3 notes/probe_s21.py nosum > $OUT/probe_nosum.txt 2>&1; echo "probe nosum rc=$?"; cat $OUT/probe_nosum.txt
