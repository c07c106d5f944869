# Session 34, run 5 (H200): probe f32rt2 (float32 x, M = 6, 8: 32-row tiles on more shapes).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 150 python3 notes/probe_s34.py precompile:f32rt > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -2 $OUT/precompile.txt
timeout 280 python3 notes/probe_s34.py f32rt2:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-330 $OUT/probe.txt
