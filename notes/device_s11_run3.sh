# Session 11, run 3 (H200): dequant with warp tiles (the working tree), grid
# sizes (persistent thread blocks) and half tiles (notes/probe_s11.py dqgrid).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s11.py dqgrid 2>&1 | tee $OUT/probe_dqgrid.txt
