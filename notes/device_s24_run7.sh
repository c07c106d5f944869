# Session 24, run 7 (H200): the half-output test with its added offset-0 slice (the kernels are run 3's).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "half_outputs or tail_launch" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt; grep -m5 -E "^FAILED|^E  " $OUT/tests.txt; true
