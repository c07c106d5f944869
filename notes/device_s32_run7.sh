# Session 32, run 7 (H200): the three tests whose x_shared setup became one helper after run 6.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
timeout 280 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "x_shared_or_not or float32_activation_range or nonfinite_activations" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt
