# Session 20, runs 4-5 (H200): probe part rt (the queue kernel with 32-row tiles;
# run 4 failed: the plan refused the geometries, their "_xs" kernels were missing).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s20.py rt > $OUT/probe_rt.txt 2>&1; echo "probe rt rc=$?"; cat $OUT/probe_rt.txt
