# Session 8, run 5 (H200): TQ1_0 digits without byte loads or conversions:
# The TQ1_0 variant it tested was not kept (no gain); the tree has the previous decoder.
# bit-exact GPU dequant tests, A/B against the previous source, dequant benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 120 python3 -m pytest tests/test_gpu_dequant.py -q -p no:cacheprovider -rs > $OUT/t_dequant.txt 2>&1; echo "dequant tests rc=$?"; tail -1 $OUT/t_dequant.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant.txt
PROBE_DTYPES=float16,float32 timeout 60 python3 notes/probe_s8.py dq TQ1_0 2>&1 | tee $OUT/probe_dq_ab.txt
timeout 70 python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -p no:cacheprovider --benchmark-json=$OUT/dequant.json > $OUT/bench_dequant.txt 2>&1; echo "dequant bench rc=$?"
python3 notes/dequant_table.py $OUT/dequant.json
