# Session 13, run 1 (H200): timelines of the matrix-vector kernels (M = 1 / 8
# float16) and of the dequant kernels (TQ1_0, Q4_0, Q2_K), write kernels
# shaped like the dequant tiles (notes/probe_s13.py); the MATVEC_PDL
# selector under capture; the launch tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader
timeout 60 python3 notes/probe_s13.py wr 2>&1 | tee $OUT/probe_wr.txt
timeout 200 python3 notes/probe_s13.py trace_mv 2>&1 | tee $OUT/probe_trace_mv.txt
timeout 120 python3 notes/probe_s13.py trace_dq 2>&1 | tee $OUT/probe_trace_dq.txt
timeout 100 python3 -m pytest tests/test_launch.py -q -x -p no:cacheprovider -rs > $OUT/t_launch.txt 2>&1; echo "launch tests rc=$?"; tail -2 $OUT/t_launch.txt
