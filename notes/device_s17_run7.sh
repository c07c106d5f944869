# Session 17, run 7 (H200): the rest of the GPU test suite on the submitted
# tree (dequantization, loader, README, reader; the matmul and launch tests
# ran in run 6; the offline compile tests need Debian's hiprtc and run in CI).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 -m pytest tests -q -p no:cacheprovider -rs -x --ignore=tests/test_matmul.py --ignore=tests/test_launch.py --ignore=tests/test_compile.py > $OUT/t_rest.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_rest.txt; grep -m12 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_rest.txt
