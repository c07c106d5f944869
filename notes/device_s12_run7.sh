# Session 12, run 7 (H200): the matmul and launch GPU tests on the submitted
# head (run 6 found the x_shared test's spy blind to cached plans).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul_launch.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul_launch.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul_launch.txt; true
