# Session 21, run 6 (H200): the submitted code (clusters on one-wave split
# grids, the other splits storing into split 0 and leaving; long-K split
# count from the model): every GPU test, the matmul benchmark, memcheck
# (notes/sanitize_s18.py; the queue and cluster tests).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 280 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/t_all.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_all.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_all.txt
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; cat $OUT/bench_matmul.txt | head -80; cd ..
timeout 100 compute-sanitizer --tool memcheck python3 notes/sanitize_s18.py > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -c " ok$" $OUT/memcheck.txt; grep -c "BAD" $OUT/memcheck.txt; tail -1 $OUT/memcheck.txt
timeout 100 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "tile_queue or tiles_are_many or split_k_in_clusters" > $OUT/memcheck_q.txt 2>&1; echo "memcheck q rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck_q.txt | tail -3
