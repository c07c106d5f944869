# Session 13, run 6 (H200): matrix-vector K split sweep (notes/probe_s13.py mvsplit).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s13.py mvsplit 2>&1 | tee $OUT/probe_mvsplit.txt
