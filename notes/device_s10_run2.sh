# Session 10, run 2 (H200): matrix-vector A/B with larger x_shared budgets and
# smaller stage rings / K splits; matmul GPU tests with x_shared everywhere
# (96 KiB), geometry (16, 32, 2) and a wider K split; dequant A/B (streaming
# stores, tile size, grid size) on the formats below 0.90.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -c "
import sys, pytest, cupyquant.qmatmul as mm, cupyquant.matmul_kernels as mk
mk.EXTRA_INSTANTIATIONS = '\n'.join(f'CQ_MV_TC_GEOM({o}, {t}, 16, 32, 2)' for o, t in (('f32', 'float'), ('f16', 'cq_f16'), ('bf16', 'cq_bf16')))
mm.MV_X_SHARED_MAX = 96 << 10
mm.MV_GEOMETRY = (16, 32, 2)
mm.MV_BLOCKS_PER_SM = 2.0
sys.exit(pytest.main(['tests/test_matmul.py', '-q', '-x', '-p', 'no:cacheprovider']))" > $OUT/t_matmul_xl_k32s2.txt 2>&1; echo "matmul tests (x_shared 96K, k32s2, bps 2) rc=$?"; tail -2 $OUT/t_matmul_xl_k32s2.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul_xl_k32s2.txt
PROBE_MV=old,new,new_k64s2,new_xs_k64s2,xl_k64s2,xl_k32s2,xl_k32s3,xl_k64s2_bps2,xl_k32s2_bps2,xl_k64s2_bps3 timeout 270 python3 notes/probe_s10.py mv 2>&1 | tee $OUT/probe_mv.txt
PROBE_DTYPES=float16,float32 PROBE_VARIANTS=shipped,nocs,u4,g8,u4g8 timeout 170 python3 notes/probe_s10.py dq Q4_0 Q3_K Q5_K TQ1_0 MXFP4 F32 2>&1 | tee $OUT/probe_dq.txt
