# Session 35, run 2 (H200; the first attempt failed in the probe script, this is the second): probe f32xs (float32 x, M = 6 / 8, x_shared kernels with two column tiles) against the shipped plan.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py notes/probe_s35.py
timeout 150 python3 notes/probe_s35.py precompile:shipped,f32xs > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -3 $OUT/precompile.txt
timeout 400 python3 notes/probe_s35.py f32xs:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-400 $OUT/probe.txt
