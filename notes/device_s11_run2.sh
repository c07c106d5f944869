# Session 11, run 2 (H200): GPU tests of dequant + matmul on the working tree
# (warp tiles, every format bounded to 64 registers), then A/B against the
# previous commit's kernels (notes/probe_s11.py): matrix-vector (5 thread
# blocks an SM), dequant (every format, skeleton variants), and ncu of the
# Q4_0 -> float16 dequant kernel (warp tiles).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 -m pytest tests/test_gpu_dequant.py tests/test_matmul.py -q -x -p no:cacheprovider -rs > $OUT/t_dequant_matmul.txt 2>&1; echo "dequant+matmul tests rc=$?"; tail -2 $OUT/t_dequant_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant_matmul.txt
timeout 120 python3 notes/probe_s11.py mv 2>&1 | tee $OUT/probe_mv.txt
timeout 200 python3 notes/probe_s11.py dq 2>&1 | tee $OUT/probe_dq.txt
M="smsp__inst_executed.sum,gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,dram__bytes_read.sum,dram__bytes_write.sum,lts__throughput.avg.pct_of_peak_sustained_elapsed,smsp__warps_active.avg.per_cycle_active,smsp__issue_active.avg.per_cycle_active,launch__registers_per_thread,launch__occupancy_limit_registers,launch__occupancy_limit_shared_mem,regex:smsp__average_warps_issue_stalled_.*_per_issue_active.ratio"
timeout 60 ncu --metrics "$M" -k regex:cq_dequant --launch-skip 1 --launch-count 1 python3 -c "
import cupy as cp, numpy as np
from cupyquant import FORMATS
from cupyquant.testing import sane_blocks
f = FORMATS['Q4_0']; n = 14336 * 4096
buf = cp.asarray(sane_blocks(f, n // 32, np.random.default_rng(0)).reshape(-1))
out = cp.empty(n, cp.float16)
for _ in range(3):
    f.dequant(buf, shape=(n,), dtype='float16', out=out)
cp.cuda.Device().synchronize()
" > $OUT/ncu_dq.txt 2>&1; echo "ncu rc=$?"
grep -E "^  cq_|^\s+(smsp|sm__|gpu__|dram|l1tex|lts|launch)" $OUT/ncu_dq.txt | awk '/cq_/ || $NF+0 > 0.05 || /inst_exec|duration|registers/' | sed 's/smsp__average_warps_issue_stalled_//;s/_per_issue_active.ratio//'
