# Session 10, run 1 (H200): matmul GPU tests on the new tensor-core matrix-vector
# staging; matrix-vector A/B (old kernel vs new, geometries, K-split fill);
# dequant A/B of streaming stores / grid size / tile size on the formats below
# 0.90; ncu counts of the new matrix-vector kernel.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -x -p no:cacheprovider > $OUT/t_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 150 python3 -c "
import sys, pytest, cupyquant.qmatmul as mm
mm.MV_X_SHARED_MAX = 32 << 10  # the x_shared kernels wherever they fit
sys.exit(pytest.main(['tests/test_matmul.py', '-q', '-x', '-p', 'no:cacheprovider']))" > $OUT/t_matmul_xs.txt 2>&1; echo "matmul tests (x_shared) rc=$?"; tail -2 $OUT/t_matmul_xs.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul_xs.txt
timeout 200 python3 notes/probe_s10.py mv 2>&1 | tee $OUT/probe_mv.txt
PROBE_DTYPES=float16,float32 PROBE_VARIANTS=shipped,nocs,u4,g8,u4g8 timeout 170 python3 notes/probe_s10.py dq Q4_0 Q3_K Q5_K TQ1_0 MXFP4 F32 2>&1 | tee $OUT/probe_dq.txt
M="smsp__inst_executed.sum,gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,lts__throughput.avg.pct_of_peak_sustained_elapsed,smsp__warps_active.avg.per_cycle_active,smsp__issue_active.avg.per_cycle_active,launch__registers_per_thread,regex:smsp__average_warps_issue_stalled_.*_per_issue_active.ratio"
timeout 60 ncu --metrics "$M" -k regex:cq_q4_0_mv --launch-skip 1 --launch-count 2 python3 -c "
import cupy as cp, numpy as np
import cupyquant; from cupyquant import FORMATS, QuantizedTensor; matmul = cupyquant.matmul
from cupyquant.testing import sane_blocks
f = FORMATS['Q4_0']; N, K = 14336, 4096
w = QuantizedTensor('Q4_0', (N, K), cp.asarray(sane_blocks(f, N * K // 32, np.random.default_rng(0)).reshape(-1)))
x = cp.asarray(np.random.default_rng(1).standard_normal((1, K)).astype(np.float16))
import cupyquant.qmatmul as mm
for p in range(4):
    mm.MV_X_SHARED_MAX = 0 if p < 2 else 32 << 10
    matmul(x, w, path='matvec_f16tc')
cp.cuda.Device().synchronize()
" > $OUT/ncu_mv.txt 2>&1; echo "ncu rc=$?"
grep -E "^  cq_|^\s+(smsp|sm__|gpu__|dram|l1tex|lts|launch)" $OUT/ncu_mv.txt | awk '/cq_/ || $NF+0 > 0.05 || /inst_exec|duration|registers/' | sed 's/smsp__average_warps_issue_stalled_//;s/_per_issue_active.ratio//'
timeout 150 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider --benchmark-json=$OUT/load.json > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"; grep -E "^  (load|first|host|CPU|sweep)|^load_gguf" $OUT/bench_load.txt
