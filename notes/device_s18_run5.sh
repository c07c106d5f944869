# Session 18, run 5 (H200): ncu of the 64-row wgmma blocks (two warpgroups)
# and of the 128-row plan on 4096^2 at M = 512; the 64-row blocks at K = 6144
# and 8192 (probe part k8192).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 notes/probe_s18.py k8192 > $OUT/probe_k8192.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_k8192.txt
for r in 1 0; do
PROBE_R64=$r timeout 120 ncu --set full -k regex:cq_q4_0_mm_wgmma --launch-skip 2 --launch-count 1 -o $OUT/ncu_r64_$r python3 notes/probe_s18.py ncu > $OUT/ncu_r64_$r.log 2>&1; echo "ncu rc=$?"
ncu -i $OUT/ncu_r64_$r.ncu-rep --page details > $OUT/ncu_r64_$r.txt 2>&1
ncu -i $OUT/ncu_r64_$r.ncu-rep --page source --csv --print-source sass > $OUT/ncu_r64_${r}_sass.csv 2>&1
gzip -f $OUT/ncu_r64_${r}_sass.csv; rm -f $OUT/ncu_r64_$r.ncu-rep
grep -E "Duration|Issue Slots Busy|No Eligible|L2 Cache Throughput|DRAM Throughput|Compute \(SM\)|L1/TEX Hit|L2 Hit|Registers Per|Achieved Occupancy" $OUT/ncu_r64_$r.txt | head -12
done
