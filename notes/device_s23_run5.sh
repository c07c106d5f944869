# Session 23, run 5 (H200): the submitted kernels: every GPU test, then the
# matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
git log --oneline -1
timeout 330 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/tests.txt
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; grep -E "M=(1|8|512) .*x_dtype=float16|copy|1 float16|8 float16|512 float16" $OUT/bench_matmul.txt | head -40
