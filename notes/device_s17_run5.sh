# Session 17, run 5 (H200): deeper x rings with the lead kept at 2-3 stages
# (CQ_WG_SLACK; probe part slack).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s17.py slack > $OUT/probe_slack.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_slack.txt
