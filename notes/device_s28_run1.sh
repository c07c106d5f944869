# Session 28, run 1 (H200): probes readocc (a read shaped like the one-wave
# M = 1 grids, occupancy capped at 2 an SM) and cap (those grids with shared
# memory that caps their occupancy, with and without early scheduling).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv
timeout 420 python3 notes/probe_s28.py readocc cap:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cat $OUT/probe.txt | tail -80
