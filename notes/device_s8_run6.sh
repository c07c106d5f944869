# Session 8, run 6 (H200): ncu on the TQ1_0 and Q5_K float16 dequantization
# kernels (the two non-IQ formats furthest below 0.90): issue use and stalls.
# NOT RUN YET: session 8 had too little device time left to start a machine. Next session: run it first.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
M="smsp__inst_executed.sum,sm__cycles_active.avg,gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,smsp__warps_active.avg.per_cycle_active,smsp__issue_active.avg.per_cycle_active,launch__registers_per_thread,launch__occupancy_limit_registers,regex:smsp__average_warps_issue_stalled_.*_per_issue_active.ratio"
for F in TQ1_0 Q5_K; do
timeout 45 ncu --metrics "$M" -k regex:cq_dequant_ --launch-skip 3 --launch-count 1 python3 -c "
import cupy as cp, numpy as np
from cupyquant import FORMATS
from cupyquant.testing import sane_blocks
f = FORMATS['$F']; n = 14336 * 4096
raw = cp.asarray(sane_blocks(f, n // f.block_size, np.random.default_rng(0)))
out = cp.empty(n, 'float16')
for _ in range(5): f.dequant(raw, out=out)
cp.cuda.Device().synchronize()
" > $OUT/ncu_$F.txt 2>&1; echo "ncu $F rc=$?"
grep -E "^\s+(smsp|sm__|gpu__|dram|launch)" $OUT/ncu_$F.txt | awk '$NF+0 > 0.05 || /inst_exec|cycles_active|duration|registers/' | sed 's/smsp__average_warps_issue_stalled_//;s/_per_issue_active.ratio//'
done
