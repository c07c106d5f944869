# Session 14, run 6 (H200): run 5's 16-byte weight copies with the x stage
# slots sized for them (run 5 overlapped the x ring and the weight slots:
# wrong results), stages 4 / 5 / 6.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
PROBE_WG_TILES=2x128,2x256,4x128 PROBE_WG_VARIANTS="s4=;s5=-DCQ_WG_STAGES=5;s6=-DCQ_WG_STAGES=6" \
  timeout 400 python3 notes/probe_s14.py wgmma 2>&1 | tee $OUT/probe_wgmma.txt
