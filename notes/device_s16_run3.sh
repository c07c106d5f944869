# Session 16, run 3 (H200): knobs of the new wgmma pipeline (L2 promotion of
# the weights' tensor map, ring depth of 64-row blocks, no 256-row blocks for
# M <= 128), then the matmul + launch GPU tests on the code as it stands.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 300 python3 notes/probe_s16.py wg2 > $OUT/probe_wg2.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_wg2.txt
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
