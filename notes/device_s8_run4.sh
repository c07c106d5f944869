# Session 8, run 4 (H200): K-quant sub-block scales computed once per tile:
# bit-exact GPU tests (dequant, loader), dequant benchmark, A/B against the
# previous source in one process.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_gpu_dequant.py tests/test_gpu_loader.py -q -p no:cacheprovider -rs > $OUT/t_dequant_loader.txt 2>&1; echo "dequant+loader tests rc=$?"; tail -1 $OUT/t_dequant_loader.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant_loader.txt
PROBE_DTYPES=float16,float32 timeout 100 python3 notes/probe_s8.py dq Q3_K Q4_K Q5_K 2>&1 | tee $OUT/probe_dq_ab.txt
timeout 70 python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -p no:cacheprovider --benchmark-json=$OUT/dequant.json > $OUT/bench_dequant.txt 2>&1; echo "dequant bench rc=$?"
python3 notes/dequant_table.py $OUT/dequant.json
