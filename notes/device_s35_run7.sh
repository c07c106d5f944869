# Session 35, run 7 (H200) -- NEVER RAN: the first attempt got no machine, the second was refused (no device time left). Superseded by session 36 run 1 (probe_s36.py regb; probe_s35.py part fewb removed).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py cupyquant/matmul_kernels.py
timeout 140 python3 notes/probe_s35.py fewb:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-200 $OUT/probe.txt
