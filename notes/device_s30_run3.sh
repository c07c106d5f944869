# Session 30, run 3 (H200): every GPU test on the submitted code (the loader's
# dispatch refactor and cq_inplace::begin through take()), then the load benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
git log --oneline -1
timeout 380 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/gpu_tests.txt 2>&1; echo "tests rc=$?"
tail -5 $OUT/gpu_tests.txt
timeout 170 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "load rc=$?"
grep -v "^$" $OUT/bench_load.txt | tail -40 | cut -c1-300
