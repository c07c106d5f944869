# Device: the GPU loader tests, then the load benchmark (figures printed last).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 60 python3 -m pytest tests/test_gpu_loader.py -q -p no:cacheprovider -rs > $OUT/t_loader.txt 2>&1; echo "loader tests rc=$?"; tail -1 $OUT/t_loader.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_loader.txt
timeout 110 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider --benchmark-json=$OUT/load.json > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"
grep -E "^  |^load_gguf" $OUT/bench_load.txt
