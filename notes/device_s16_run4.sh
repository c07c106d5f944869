# Session 16, run 4 (H200), the submitted code: matmul + launch GPU tests and
# compute-sanitizer memcheck of the wgmma kernels (TMA pipeline and cp.async,
# widths 64 / 128 / 256, split-K, every output dtype) and of full
# matrix-vector grids with the early path (notes/sanitize_s15.py).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 240 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 300 compute-sanitizer --tool memcheck python3 notes/sanitize_s15.py > $OUT/sanitize.txt 2>&1; echo "sanitizer rc=$?"; grep -c " ok" $OUT/sanitize.txt; grep -E "BAD|ERROR SUMMARY|Invalid" $OUT/sanitize.txt | head -5
