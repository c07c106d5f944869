# Session 30, run 1 (H200): the bulk-copy matrix-vector kernels, correctness and timing (run 2: the same script, the 2-D TMA kernels added).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.sm --format=csv
timeout 480 python3 notes/probe_s30.py check time > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cat $OUT/probe.txt | cut -c1-1500
