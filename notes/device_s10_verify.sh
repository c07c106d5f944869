# Session 10, after the final run: the changes made from its figures (one
# inlined tile body in the x_shared kernels; no int8 kernel on the auto path;
# float16 x with one column tile on geometry (16, 32, 3) where x_shared does not fit),
# checked on the submitted code: every matmul GPU test, the matmul benchmark,
# ncu counts of the x_shared kernel.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 200 python3 benchmarks/test_bench_matmul.py --json $OUT/matmul.json > $OUT/bench_matmul.txt 2>&1; echo "matmul bench rc=$?"
M="smsp__inst_executed.sum,gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,smsp__warps_active.avg.per_cycle_active,smsp__issue_active.avg.per_cycle_active,launch__registers_per_thread,regex:smsp__average_warps_issue_stalled_.*_per_issue_active.ratio"
timeout 60 ncu --metrics "$M" -k regex:cq_q4_0_mv --launch-skip 2 --launch-count 1 python3 -c "
import cupy as cp, numpy as np
import cupyquant; from cupyquant import FORMATS, QuantizedTensor; matmul = cupyquant.matmul
from cupyquant.testing import sane_blocks
f = FORMATS['Q4_0']; N, K = 14336, 4096
w = QuantizedTensor('Q4_0', (N, K), cp.asarray(sane_blocks(f, N * K // 32, np.random.default_rng(0)).reshape(-1)))
x = cp.asarray(np.random.default_rng(1).standard_normal((1, K)).astype(np.float16))
for p in range(4):
    matmul(x, w, path='matvec_f16tc')
cp.cuda.Device().synchronize()
" > $OUT/ncu_mv.txt 2>&1; echo "ncu rc=$?"
grep -E "^  cq_|^\s+(smsp|sm__|gpu__|dram|l1tex|lts|launch)" $OUT/ncu_mv.txt | awk '/cq_/ || $NF+0 > 0.05 || /inst_exec|duration|registers/' | sed 's/smsp__average_warps_issue_stalled_//;s/_per_issue_active.ratio//'
cat $OUT/bench_matmul.txt
