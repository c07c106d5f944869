# Session 14, run 2 (H200): wgmma prototype diagnostics (no decode / no loads /
# wait for each stage / two thread blocks an SM for BN = 128) and its SASS.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
PROBE_WG_SASS=s4 PROBE_WG_SHAPES=4096x4096,14336x4096,128256x4096 \
PROBE_WG_VARIANTS="s4=;nodec=-DCQ_WG_DIAG=1;noload=-DCQ_WG_DIAG=2;wait0=-DCQ_WG_DIAG=3;minb2=-DCQ_WG_MINB=2" \
  timeout 400 python3 notes/probe_s14.py wgmma 2>&1 | tee $OUT/probe_wgmma.txt
