# Session 28, run 2 (H200): probe cap again, the shared memory now raised
# past the kernels' 48 KiB default before the occupancy query (run 1 capped
# only where that had happened already), more shapes, float32 x at M = 1.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 420 python3 notes/probe_s28.py cap:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cat $OUT/probe.txt | tail -80
