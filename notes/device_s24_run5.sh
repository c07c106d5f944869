# Session 24, run 5 (H200): the load benchmark (issue 4; the loader is unchanged since session 22).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"; grep -E "^  (load|first|fresh|h2d|host|CPU|sweep|ratio|peak|device|path)" $OUT/bench_load.txt | head -40; tail -3 $OUT/bench_load.txt; true
