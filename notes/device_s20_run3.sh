# Session 20, run 3 (H200): every x_shared kernel copies with four warps
# (CQ_MV_XS_COPY_WARPS = 4; the other kernels SASS-identical to the session's
# start): every GPU test, memcheck (notes/sanitize_s18.py; the queue tests),
# the matmul benchmark, probe part cw3 (four against eight copy warps where
# run 2 did not measure).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 280 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/t_all.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_all.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_all.txt
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; cat $OUT/bench_matmul.txt | head -80; cd ..
timeout 150 python3 notes/probe_s20.py cw3 > $OUT/probe_cw3.txt 2>&1; echo "probe cw3 rc=$?"; cat $OUT/probe_cw3.txt
timeout 120 compute-sanitizer --tool memcheck python3 notes/sanitize_s18.py > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -c " ok$" $OUT/memcheck.txt; grep -c "BAD" $OUT/memcheck.txt; tail -1 $OUT/memcheck.txt
timeout 60 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "tile_queue or tiles_are_many" > $OUT/memcheck_q.txt 2>&1; echo "memcheck q rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck_q.txt | tail -3
