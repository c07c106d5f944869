# Session 23, run 4 (H200): probe geo16 (M = 4 / 8 on the compiled 16-row
# geometries, every split count), two rounds.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 300 python3 notes/probe_s23.py geo16 2 > $OUT/probe_geo16.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_geo16.txt | cut -c1-1800
