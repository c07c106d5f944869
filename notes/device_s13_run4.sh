# Session 13, run 4 (H200): the L2 prefetch distance as a kernel argument
# chosen on the host (gpu/dequant.py l2_ahead) and the float16 one-column-tile
# geometry rule (qmatmul MV_FEW_WAVES): dequant + matmul + launch GPU tests,
# compute-sanitizer memcheck of the prefetch, auto against none on the formats
# run 3 did not cover, the dequant benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
git log --oneline -1 2>/dev/null
timeout 200 python3 -m pytest tests/test_gpu_dequant.py tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_dequant_matmul.txt 2>&1; echo "dequant+matmul+launch tests rc=$?"; tail -2 $OUT/t_dequant_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant_matmul.txt
timeout 90 compute-sanitizer --tool memcheck --print-limit 5 python3 notes/sanitize_s13.py > $OUT/sanitize.txt 2>&1; echo "sanitizer rc=$?"; tail -4 $OUT/sanitize.txt
timeout 80 python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -p no:cacheprovider --benchmark-json=$OUT/dequant.json > $OUT/bench_dequant.txt 2>&1; echo "dequant bench rc=$?"
python3 notes/dequant_table.py $OUT/dequant.json
timeout 100 python3 notes/probe_s13.py dql2 F16 BF16 F32 Q8_0 Q5_1 IQ4_XS Q3_K 2>&1 | tee $OUT/probe_dql2.txt
