# Next device session, run F (one call, about 4 min, H100: name kind nvidia-h100-x1): probe_s43 m1h100, the
# H100's M = 1 plans on the three shapes short of the issue's bandwidth goals (session 43 run 1), one knob at a
# time against the shipped plan. A knob that is faster on a shape in both rounds is a candidate rule for the
# H100 (device_info's name or L2 / bandwidth), to be checked on the H200 that the current values were tuned on.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
timeout 120 python3 notes/probe_s36.py precompile:shipped > /tmp/precompile.txt 2>&1; echo "precompile rc=$?"
timeout 300 python3 -u notes/probe_s43.py m1h100:2 2>&1 | tee $OUT/probe_m1h100.txt | cut -c1-250
