# Session 24, run 1 (H200): the x-multicast wgmma kernels: their tests, then
# probe part "mc" (A/B against the plain kernels).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
git log --oneline -1
timeout 240 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -x -k "multicast" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt; grep -m8 -E "^FAILED|^ERROR|Error" $OUT/tests.txt
timeout 200 python3 notes/probe_s24.py mc 4 > $OUT/probe_mc.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_mc.txt | tail -30
timeout 100 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "x_multicast" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck.txt | tail -3; true
