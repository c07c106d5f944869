# Session 15, run 5 (H200): wgmma split in two over K on one-wave grids
# (4096-row weights, M = 256 / 512 / 1000), runtime knobs only.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 notes/probe_s15.py split2 2>&1 | tee $OUT/probe_split2.txt
