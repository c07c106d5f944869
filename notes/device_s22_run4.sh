# Session 22, run 4 (H200): the dequantization launches by address (one
# launcher per format, dtype and device; the loader without array slices):
# every GPU test, probe part loadab (against session 21's launches), the load
# benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 330 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/t_all.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_all.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_all.txt
timeout 100 python3 notes/probe_s22.py loadab > $OUT/probe_loadab.txt 2>&1; echo "loadab rc=$?"; cat $OUT/probe_loadab.txt
timeout 90 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"; grep -E "^  (load|first|host|CPU|sweep)" $OUT/bench_load.txt
