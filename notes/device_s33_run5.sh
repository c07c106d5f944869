# Session 33, run 5 (H200): what the x_shared kernels' record fill costs at M = 2-8 (probe nofill).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
timeout 200 python3 notes/probe_s33.py precompile:s1,nofill > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -3 $OUT/precompile.txt
timeout 300 python3 notes/probe_s33.py nofill:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-200 $OUT/probe.txt
