# Session 23, run 3 (H200): probe rt32 (M = 4 / 8 on tiles of 32 weight rows,
# every split count), one round.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 400 python3 notes/probe_s23.py rt32 1 > $OUT/probe_rt32.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_rt32.txt | cut -c1-1500
