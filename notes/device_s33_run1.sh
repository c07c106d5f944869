# Session 33, run 1 (H200): variant modules compiled at once, outputs checked against the shipped module, probes fill and f32conv.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 200 python3 notes/probe_s33.py precompile > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -8 $OUT/precompile.txt
timeout 120 python3 notes/probe_s33.py check > $OUT/check.txt 2>&1; echo "check rc=$?"; grep -v "^===" $OUT/check.txt | tail -30
timeout 240 python3 notes/probe_s33.py fill:2 f32conv:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe.txt | cut -c1-230
