# Session 29, run 5 (H200): the submitted code. Every GPU test, then the
# load benchmark (in-place default; its sweep times zero-copy and staging).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 330 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests_all.txt 2>&1; echo "tests rc=$?"
tail -4 $OUT/tests_all.txt
timeout 150 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "bench rc=$?"
grep -E "^  (load|first|host|sweep|CPU)" $OUT/bench_load.txt
