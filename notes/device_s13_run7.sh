# Session 13, run 7 (H200): 64 KiB x_shared records for M = 8 on many tiles
# (probe mvxs8); ncu of the M = 1 float16 matrix-vector kernel on 4096 x 14336
# and 14336 x 4096 (full set, per-instruction source page as CSV) for the next
# session's analysis.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 notes/probe_s13.py mvxs8 2>&1 | tee $OUT/probe_mvxs8.txt
for s in 4096x14336 14336x4096; do
  PROBE_SHAPE=$s timeout 120 ncu --set full -k regex:cq_q4_0_mv_tc --launch-skip 4 --launch-count 1 -o $OUT/ncu_mv_$s python3 notes/probe_s13.py ncu_mv > $OUT/ncu_mv_$s.log 2>&1; echo "ncu $s rc=$?"
  ncu -i $OUT/ncu_mv_$s.ncu-rep --page details > $OUT/ncu_mv_$s.txt 2>&1
  ncu -i $OUT/ncu_mv_$s.ncu-rep --page source --csv --print-source sass > $OUT/ncu_mv_${s}_sass.csv 2>&1
  grep -E "Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Memory Throughput|DRAM Throughput|L2 Hit" $OUT/ncu_mv_$s.txt | head -14
  ls -la $OUT/ncu_mv_${s}_sass.csv | awk '{print $5}'
done
