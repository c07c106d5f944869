# Session 9, run 4 (H200): dequant kernels after the tuning of run 3 plus the
# TQ1_0 16-bit byte-permute decode and MXFP4's funnel-shift loads:
# (a) every GPU dequant test, (b) A/B against session 8's submitted kernels
# (notes/_ab_old_sources.json), float16 and float32, bfloat16 for TQ1_0.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 -m pytest tests/test_gpu_dequant.py -q -x -p no:cacheprovider > $OUT/t_dequant.txt 2>&1; echo "dequant tests rc=$?"; tail -2 $OUT/t_dequant.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant.txt
PROBE_VARIANTS=shipped,old PROBE_DTYPES=float16,float32 timeout 200 python3 notes/probe_s8.py dq F16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K IQ2_XXS IQ2_XS IQ3_XXS IQ1_S IQ4_NL IQ3_S IQ2_S IQ4_XS IQ1_M TQ1_0 TQ2_0 MXFP4 NVFP4 2>&1 | tee $OUT/probe_dq_ab_f16_f32.txt
PROBE_VARIANTS=shipped,old PROBE_DTYPES=bfloat16 timeout 60 python3 notes/probe_s8.py dq TQ1_0 MXFP4 Q6_K 2>&1 | tee $OUT/probe_dq_ab_bf16.txt
