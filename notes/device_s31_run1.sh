# Session 31, run 1 (H200): probe_s31 check (prewait gives the shipped bits) and decomp (where the
# one-row kernels' time goes at M = 1; copies before the grid wait).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv
grep -c "probe_s31" notes/probe_s31.py
timeout 520 python3 notes/probe_s31.py check decomp:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cat $OUT/probe.txt | cut -c1-400
