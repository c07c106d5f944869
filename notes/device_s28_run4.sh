# Session 28, run 4 (H200): probes capcl (the cap on cluster grids too) and
# pf (L2 prefetch depth on the early path).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 480 python3 notes/probe_s28.py capcl:2 pf:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cat $OUT/probe.txt | tail -110
