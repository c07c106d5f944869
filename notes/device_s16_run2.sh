# Session 16, run 2 (H200): run 1 again after the fix of the weights' tensor
# map address (run 1 passed the QuantizedTensor's array, not its pointer).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
sed -n '/^timeout 90/,/^PY$/p' notes/device_s16_run1.sh > /tmp/smoke.sh; bash /tmp/smoke.sh; echo "smoke rc=$?"; tail -8 $OUT/smoke.txt
timeout 230 python3 notes/probe_s16.py wg > $OUT/probe_wg.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_wg.txt
timeout 210 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
