# Session 14, run 4 (H200): wgmma prototype, thread blocks of 4 warpgroups
# (256 weight rows x 128 activation rows: half the x traffic a flop of 2 x 256),
# stage rings of 4 / 6 / 8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
PROBE_WG_SASS=s4 PROBE_WG_TILES=2x128,2x256,4x128 \
PROBE_WG_VARIANTS="s4=;s6=-DCQ_WG_STAGES=6;s8=-DCQ_WG_STAGES=8" \
  timeout 400 python3 notes/probe_s14.py wgmma 2>&1 | tee $OUT/probe_wgmma.txt
