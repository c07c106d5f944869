# Session 15, run 6 (H200): ncu of the wgmma kernel (x through TMA) at M = 512
# on 4096 x 4096 (128 x 128 blocks, one an SM) and 14336 x 4096 (128 x 256),
# full set and the per-instruction source page, for the next session.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
for s in 4096x4096 14336x4096; do
  PROBE_SHAPE=$s timeout 100 ncu --set full -k regex:cq_q4_0_mm_wgmma --launch-skip 2 --launch-count 1 -o $OUT/ncu_wg_$s python3 notes/probe_s15.py ncu_wg > $OUT/ncu_wg_$s.log 2>&1; echo "ncu $s rc=$?"
  ncu -i $OUT/ncu_wg_$s.ncu-rep --page details > $OUT/ncu_wg_$s.txt 2>&1
  ncu -i $OUT/ncu_wg_$s.ncu-rep --page source --csv --print-source sass > $OUT/ncu_wg_${s}_sass.csv 2>&1
  gzip -f $OUT/ncu_wg_${s}_sass.csv
  grep -E "Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Shared Memory|Bank|L1/TEX Cache Throughput|Compute \(SM\)|Memory Throughput" $OUT/ncu_wg_$s.txt | head -16
done
