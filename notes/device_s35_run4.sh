# Session 35, run 4 (H200): the queue kernels' register bound (probe parts spills and minb).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py notes/probe_s35.py
timeout 100 python3 notes/probe_s35.py spills > $OUT/spills.txt 2>&1; echo "spills rc=$?"; cat $OUT/spills.txt
timeout 150 python3 notes/probe_s35.py precompile:shipped,minb > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -3 $OUT/precompile.txt
timeout 330 python3 notes/probe_s35.py minb:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-300 $OUT/probe.txt
