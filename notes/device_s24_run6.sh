# Session 24, run 6 (H200): probe part "b6" (M = 4 / 8 on (16, 32, 3) at six thread blocks an SM).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 240 python3 notes/probe_s24.py b6 2 > $OUT/probe_b6.txt 2>&1; echo "b6 rc=$?"; tail -14 $OUT/probe_b6.txt; true
