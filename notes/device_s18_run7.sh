# Session 18, run 7 (H200): matrix-vector on 4096 x 14336 at M = 4 / 6 / 8 with
# the x_shared kernel split over K (probe part mv8xs).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 notes/probe_s18.py mv8xs > $OUT/probe_mv8xs.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_mv8xs.txt
