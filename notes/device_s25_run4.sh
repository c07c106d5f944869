# Session 25, run 4 (H200): probe xrc (x through the ring on 32- and 64-row thread blocks,
# split counts 1-6, split sums in clusters by the shipped rule; issue 5 M = 8 on 4096 x 14336).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 330 python3 notes/probe_s25.py xrc:2 > $OUT/probe_xrc.txt 2>&1; echo "xrc rc=$?"; cut -c1-700 $OUT/probe_xrc.txt | tail -45
