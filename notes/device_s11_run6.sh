# Session 11, run 6 (H200): float32 dequant output stored without the lane
# shuffles (notes/probe_s11.py dqf32), "shuffle" twice to show the spread.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 notes/probe_s11.py dqf32 2>&1 | tee $OUT/probe_dqf32.txt
