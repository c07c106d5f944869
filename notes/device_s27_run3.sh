# Session 27, run 3 (H200): probe early (CQ_MV_EARLY_TRIGGER=1 against the shipped module).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 150 python3 notes/probe_s27.py early:2 > $OUT/probe_early.txt 2>&1; echo "rc=$?"; tail -30 $OUT/probe_early.txt; true
