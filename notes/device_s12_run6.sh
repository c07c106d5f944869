# Session 12, run 6 (H200): the cached matrix-vector plan and cheaper PDL launch of the submitted
# head: host cost of a launch with and without PDL, then every dequant /
# matmul / launch GPU test and the loader tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_gpu_dequant.py tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_dequant_matmul.txt 2>&1; echo "dequant+matmul+launch tests rc=$?"; tail -2 $OUT/t_dequant_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant_matmul.txt
timeout 60 python3 notes/probe_s12.py launchcost > $OUT/probe_launchcost.txt 2>&1; head -8 $OUT/probe_launchcost.txt; grep -A30 "ncalls" $OUT/probe_launchcost.txt | cut -c1-150
timeout 80 python3 -m pytest tests/test_gpu_loader.py -q -p no:cacheprovider -rs > $OUT/t_loader.txt 2>&1; echo "loader tests rc=$?"; tail -1 $OUT/t_loader.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_loader.txt
