# Session 34, run 4 (H200): probe f32rt (float32 x, M = 8, larger row tiles).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 150 python3 notes/probe_s34.py precompile:f32rt > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -2 $OUT/precompile.txt
timeout 200 python3 notes/probe_s34.py f32rt:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-330 $OUT/probe.txt
