# Session 13, run 9 (H200): the 64 KiB x_shared rule as submitted
# (MV_X_SHARED_MANY_TILES): matmul + launch GPU tests; the kernels picked at M = 8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 60 python3 notes/probe_s13.py m8check 2>&1 | tee $OUT/probe_m8check.txt
