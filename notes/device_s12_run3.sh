# Session 12, run 3 (H200): matrix-vector with 32-row thread blocks
# (notes/probe_s12.py mvgeo), against the automatic plan.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 300 python3 notes/probe_s12.py mvgeo 2>&1 | tee $OUT/probe_mvgeo.txt
