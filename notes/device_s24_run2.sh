# Session 24, run 2 (H200): the x-multicast wgmma kernels with default-semantics
# arrivals: their tests, probe part "mc" (A/B against the plain kernels),
# memcheck of the multicast test; then probe part "xs8" (M = 4 / 8 at long K
# on per-split x_shared records).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 240 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -x -k "multicast" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt; grep -m8 -E "^FAILED|^ERROR|Error" $OUT/tests.txt
timeout 150 python3 notes/probe_s24.py mc 4 > $OUT/probe_mc.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_mc.txt | tail -30
timeout 100 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "x_multicast" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck.txt | tail -3
timeout 200 python3 notes/probe_s24.py xs8 3 > $OUT/probe_xs8.txt 2>&1; echo "xs8 rc=$?"; cat $OUT/probe_xs8.txt | tail -30; true
