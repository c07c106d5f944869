# Session 16, run 11 (H200): ncu of the submitted wgmma kernel (run 9: weights 4 stages ahead;
# same commands as run 8) at M = 512 on 4096 x 14336 (128 x 128
# blocks, 224 stages) and 4096 x 4096, full set and the per-instruction
# source page, for the next session (same commands as session 15 run 6).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
for s in 4096x14336 4096x4096; do
  PROBE_SHAPE=$s timeout 150 ncu --set full -k regex:cq_q4_0_mm_wgmma --launch-skip 2 --launch-count 1 -o $OUT/ncu_wg_$s python3 notes/probe_s15.py ncu_wg > $OUT/ncu_wg_$s.log 2>&1; echo "ncu $s rc=$?"
  ncu -i $OUT/ncu_wg_$s.ncu-rep --page details > $OUT/ncu_wg_$s.txt 2>&1
  ncu -i $OUT/ncu_wg_$s.ncu-rep --page source --csv --print-source sass > $OUT/ncu_wg_${s}_sass.csv 2>&1
  gzip -f $OUT/ncu_wg_${s}_sass.csv; rm -f $OUT/ncu_wg_$s.ncu-rep
  grep -E "Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|L1/TEX Cache Throughput|L2 Cache Throughput|Compute \(SM\)|DRAM Throughput" $OUT/ncu_wg_$s.txt | head -14
done
