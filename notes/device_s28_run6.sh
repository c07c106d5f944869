# Session 28, run 6 (H200): compute-sanitizer memcheck of the capped-grid
# tests (one split and clusters, early path under PDL) and the PDL chain test.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 230 compute-sanitizer --tool memcheck --print-limit 20 python3 -m pytest -q -p no:cacheprovider tests/test_matmul.py tests/test_launch.py -k "capped or dependent" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"
tail -8 $OUT/memcheck.txt
