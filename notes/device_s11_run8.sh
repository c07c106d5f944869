# Session 11, run 8 (H200): matrix-vector K splits (MV_BLOCKS_PER_SM 0.5 - 4)
# on the shapes with few row tiles (notes/probe_s11.py mvsplit).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 notes/probe_s11.py mvsplit 2>&1 | tee $OUT/probe_mvsplit.txt
