# Session 14, run 5 (H200): wgmma prototype with the weights in 16-byte copies
# (run 4: the 4-byte weight copies, scattered over 16 rows a warp instruction,
# looked like the limit: 4 warpgroups, with twice the weight rows, were slower).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
PROBE_WG_SASS=s4 PROBE_WG_TILES=2x128,2x256,4x128 \
PROBE_WG_VARIANTS="b4=-DCQ_WG_W16=0;s4=;s5=-DCQ_WG_STAGES=5;s6=-DCQ_WG_STAGES=6" \
  timeout 400 python3 notes/probe_s14.py wgmma 2>&1 | tee $OUT/probe_wgmma.txt
