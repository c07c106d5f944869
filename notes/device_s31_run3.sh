# Session 31, run 3 (H200, run 2's machine still warm): probe_s31 check8 (float16 output: the probe's
# modules hold float16-output kernels only; run 2 asked for float32 and stopped) and fill.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
timeout 400 python3 notes/probe_s31.py check8 fill:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cut -c1-700 $OUT/probe.txt
