# Session 15, run 7 (H200): wgmma 256-wide blocks split in two over K on
# 4096-row weights (one thread block an SM), against the auto plan.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 notes/probe_s15.py wide_split 2>&1 | tee $OUT/probe_wide_split.txt
