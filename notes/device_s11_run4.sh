# Session 11, run 4 (H200): dequant with warp tiles, 4 / 5 / 6 thread blocks
# an SM (register bounds), 2 groups decoded at a time (notes/probe_s11.py dqmb).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s11.py dqmb 2>&1 | tee $OUT/probe_dqmb.txt
