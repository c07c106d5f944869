# Session 33, run 4 (H200): the x fill before the loop through cp.async (4: "_xsq1"; 5: "_xsq1" and "_xs1") against 0 / 1.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 200 python3 notes/probe_s33.py precompile:s0,s1,s4,s5 > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -6 $OUT/precompile.txt
timeout 120 python3 notes/probe_s33.py check:s0,s1,s4,s5 > $OUT/check.txt 2>&1; echo "check rc=$?"; grep -v "^===" $OUT/check.txt | cut -c1-200
timeout 300 python3 notes/probe_s33.py fill:3/s1,s0,s4,s5 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-240 $OUT/probe.txt
