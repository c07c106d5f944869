# Session 11, run 7 (H200): float32 dequant output through shared memory
# (cq_store8_warp_xpose) instead of lane shuffles: GPU dequant tests, A/B on
# every format (notes/probe_s11.py dqf32), and the dequant benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 120 python3 -m pytest tests/test_gpu_dequant.py -q -p no:cacheprovider -rs > $OUT/t_dequant.txt 2>&1; echo "dequant tests rc=$?"; tail -1 $OUT/t_dequant.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant.txt
timeout 150 python3 notes/probe_s11.py dqf32 2>&1 | tee $OUT/probe_dqf32.txt
timeout 90 python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -p no:cacheprovider --benchmark-json=$OUT/dequant.json > $OUT/bench_dequant.txt 2>&1; echo "dequant bench rc=$?"
python3 notes/dequant_table.py $OUT/dequant.json
