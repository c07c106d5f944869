# Session 26, run 3 (H200): the GPU tests that run 2's 290 s limit cut off (the last 117 of 1335,
# from test_matvec_int8_adversarial on), on the same code.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 240 python3 -m pytest tests/test_matmul.py tests/test_reader.py tests/test_readme.py tests/test_registry.py -q -p no:cacheprovider -rs -k "int8_adversarial or nonfinite or auto_uses_int8 or mv_plan_queue_kernel or test_reader or test_readme or test_registry" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/tests.txt; true
