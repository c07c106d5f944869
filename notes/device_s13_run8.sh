# Session 13, run 8 (H200): x_shared records up to 64 KiB for float16 x where
# the tiles outnumber the resident thread blocks (qmatmul MV_X_SHARED_LARGE):
# matmul + launch GPU tests, the matmul benchmark at M = 1, 4, 8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
git log --oneline -1 2>/dev/null
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 150 python3 benchmarks/test_bench_matmul.py --ms 1 4 8 --json $OUT/matmul.json > $OUT/bench_matmul.txt 2>&1; echo "matmul bench rc=$?"
cat $OUT/bench_matmul.txt
