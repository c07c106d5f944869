# Session 33, run 3 (H200): the staged x fill three ways (0 / 1 / 3), outputs checked, then timed.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 200 python3 notes/probe_s33.py precompile:s0,s1,s3 > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -5 $OUT/precompile.txt
timeout 120 python3 notes/probe_s33.py check:s0,s1,s3 > $OUT/check.txt 2>&1; echo "check rc=$?"; grep -v "^===" $OUT/check.txt | cut -c1-200
timeout 240 python3 notes/probe_s33.py fill:3/s1,s0,s3 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-200 $OUT/probe.txt
