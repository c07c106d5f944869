# Session 12, run 4 (H200): the loader's early fills against the previous flow,
# alternating in one process (notes/probe_s12.py load with PROBE_LOAD_AB=1),
# then the load benchmark again (the final run's host was slow: fill 47 GB/s).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
PROBE_LOAD_AB=1 timeout 150 python3 notes/probe_s12.py load 2>&1 > $OUT/probe_load.txt; echo "load probe rc=$?"; grep -v "^  chunk" $OUT/probe_load.txt
timeout 100 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider --benchmark-json=$OUT/load.json > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"
grep -E "^  (load|first|host|CPU|sweep)|^load_gguf" $OUT/bench_load.txt
