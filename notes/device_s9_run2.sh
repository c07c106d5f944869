# Session 9, run 2 (H200): (a) GPU dequant tests on the new skeleton (unsigned
# group indexing, hoisted output pointer, unchecked aligned 16-bit stores),
# (b) A/B of every format, old skeleton (HEAD, notes/_ab_old_sources.json) vs new,
# float16 and float32, (c) the hybrid copy + register loader probe.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 -m pytest tests/test_gpu_dequant.py -q -x -p no:cacheprovider > $OUT/t_dequant.txt 2>&1; echo "dequant tests rc=$?"; tail -2 $OUT/t_dequant.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant.txt
PROBE_DTYPES=float16,float32 timeout 240 python3 notes/probe_s8.py dq F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K IQ2_XXS IQ2_XS IQ3_XXS IQ1_S IQ4_NL IQ3_S IQ2_S IQ4_XS IQ1_M TQ1_0 TQ2_0 MXFP4 NVFP4 2>&1 | tee $OUT/probe_dq_skeleton_ab.txt
timeout 150 python3 notes/probe_s9_hybrid.py 2>&1 | tee $OUT/probe_hybrid.txt
