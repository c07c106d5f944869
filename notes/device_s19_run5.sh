# Session 19, run 5 (H200): the submitted code: the matmul benchmark; "_xsq"
# against "_xs" in one module, both orders (probe part q).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
cd benchmarks && timeout 200 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; cat $OUT/bench_matmul.txt | head -80; cd ..
timeout 150 python3 notes/probe_s19.py q > $OUT/probe_q.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_q.txt
