# Session 24, run 3 (H200): probe part "epi" (what the wgmma epilogue costs at M = 512).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 300 python3 notes/probe_s24.py epi 3 > $OUT/probe_epi.txt 2>&1; echo "epi rc=$?"; cat $OUT/probe_epi.txt | tail -20; true
