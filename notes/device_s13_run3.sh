# Session 13, run 3 (H200): L2 prefetch A/B (same kernels, -D knobs):
# dequant CQ_DQ_L2_AHEAD 0 / 256 / 512 / 1024; matrix-vector CQ_MV_L2 0 / 1 / 2
# and the float16 one-column-tile geometry (16, 64, 2) at M = 8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s13.py dql2 2>&1 | tee $OUT/probe_dql2.txt
timeout 300 python3 notes/probe_s13.py mvl2 2>&1 | tee $OUT/probe_mvl2.txt
