# Session 28, run 5 (H200): the final code: every GPU test, the matmul
# benchmark, capab on four shapes (cluster grids capped too), and m1split.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 260 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests.txt 2>&1; echo "tests rc=$?"
(cd benchmarks && timeout 140 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?")
timeout 90 python3 notes/probe_s28.py capab:final m1split > $OUT/probe.txt 2>&1; echo "probe rc=$?"
tail -4 $OUT/tests.txt; grep -E "^ *(4096x4096|14336x4096|4096x14336|128256x4096) +(1|8|512) float16|copy" $OUT/bench_matmul.txt; cat $OUT/probe.txt
