# Session 20, run 6 (H200): probe part hi (x_shared kernels: the last four
# warps copy the weight stages instead of the first four; one module, three
# rounds in alternating order). The shipped kernels are SASS-identical to
# run 3's.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 240 python3 notes/probe_s20.py hi > $OUT/probe_hi.txt 2>&1; echo "probe hi rc=$?"; cat $OUT/probe_hi.txt
