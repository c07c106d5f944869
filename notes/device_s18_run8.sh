# Session 18, run 8 (H200): ncu of the 64-row wgmma blocks and of the 128-row
# plan on 4096^2 at M = 512 with the clocks free and the caches warm (run 5
# locked the clocks and flushed the caches: both 58.7 K cycles).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
for r in 1 0; do
PROBE_R64=$r timeout 90 ncu --clock-control none --cache-control none --section SpeedOfLight --section SchedulerStats --section WarpStateStats --section LaunchStats --metrics sm__cycles_elapsed.avg.per_second,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active -k regex:cq_q4_0_mm_wgmma --launch-skip 2 --launch-count 1 python3 notes/probe_s18.py ncu > $OUT/ncu_free_r64_$r.txt 2>&1; echo "ncu rc=$?"
grep -E "cq_q4_0|Duration|Elapsed Cycles|SM Frequency|per_second|hmma|Issue Slots Busy|No Eligible|L2 Cache Throughput|DRAM Throughput|Compute \(SM\)" $OUT/ncu_free_r64_$r.txt | head -14
done
