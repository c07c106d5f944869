# Session 31, run 7 (H200): probe_s31 m8xr (the "_xr" kernel at K = 4096, M = 2-8; not shipped).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
timeout 150 python3 notes/probe_s31.py m8xr:3 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cut -c1-300 $OUT/probe.txt
