# Session 14, run 3 (H200): wgmma prototype with its copies' addresses set up
# once (run 2: 550 instructions between a stage's barrier and its wgmma);
# stages 4 / 5, copies issued after the wgmma ("late"), two thread blocks an SM (BN = 128).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
PROBE_WG_SASS=s4 \
PROBE_WG_VARIANTS="s4=;s5=-DCQ_WG_STAGES=5;late=-DCQ_WG_LOAD_LATE=1;s5late=-DCQ_WG_STAGES=5 -DCQ_WG_LOAD_LATE=1;minb2=-DCQ_WG_MINB=2;m2late=-DCQ_WG_MINB=2 -DCQ_WG_LOAD_LATE=1" \
  timeout 400 python3 notes/probe_s14.py wgmma 2>&1 | tee $OUT/probe_wgmma.txt
