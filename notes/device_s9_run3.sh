# Session 9, run 3 (H200): (a) the new dequant skeleton with launch-bound /
# unroll overrides against the old skeleton (HEAD of session 8), every format,
# float16 (float32 for the formats whose registers changed); (b) the load
# benchmark with the new pipeline defaults (all slots in flight, 8 MiB parts) and its sweep.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
PROBE_VARIANTS=shipped,mb3,mb4,du2,du4,old PROBE_DTYPES=float16 timeout 260 python3 notes/probe_s8.py dq Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K IQ2_XXS IQ2_XS IQ3_XXS IQ1_S IQ4_NL IQ3_S IQ2_S IQ4_XS IQ1_M TQ1_0 TQ2_0 MXFP4 NVFP4 2>&1 | tee $OUT/probe_dq_tune_f16.txt
PROBE_VARIANTS=shipped,mb3,mb4,old PROBE_DTYPES=float32 timeout 100 python3 notes/probe_s8.py dq TQ1_0 Q6_K Q4_K IQ4_XS Q3_K Q5_K MXFP4 IQ1_M 2>&1 | tee $OUT/probe_dq_tune_f32.txt
timeout 200 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider --benchmark-json=$OUT/load.json > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"; grep -E "load |sweep|ratio|RSS|device beyond|CPU path|host fill" $OUT/bench_load.txt | head -30
