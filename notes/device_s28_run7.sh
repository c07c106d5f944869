# Session 28, run 7 (H200): the loader's staging path with one device
# staging area shared by the slots' streams (DEVICE_SLOTS = 1): the loader's
# GPU tests, then the load benchmark (its sweep times staging with 1 and 4
# device slots against zero-copy).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 150 python3 -m pytest tests/test_gpu_loader.py -q -p no:cacheprovider -rs > $OUT/tests_loader.txt 2>&1; echo "tests rc=$?"
tail -4 $OUT/tests_loader.txt
timeout 100 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "bench rc=$?"
grep -E "^  (load|first|host|sweep)" $OUT/bench_load.txt
