# Session 10, run 4 (H200): the x_shared kernels' stage ring flowing from one
# tile into the next (the next tile's first stages issued during the last
# stages of the current one). Every matmul GPU test on it; A/B against the
# previous commit's (verified) kernels in one process; the matmul benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR" -A20 $OUT/t_matmul.txt | head -40
PROBE_MV=old_head,auto PROBE_CASES=1:float16,1:float32,4:float16 timeout 120 python3 notes/probe_s10.py mv 2>&1 | tee $OUT/probe_mv.txt
timeout 200 python3 benchmarks/test_bench_matmul.py --json $OUT/matmul.json > $OUT/bench_matmul.txt 2>&1; echo "matmul bench rc=$?"
cat $OUT/bench_matmul.txt
