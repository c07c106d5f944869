# Session 25, run 2 (H200): probe sm (split-major matrix-vector grids, issue 5 M = 8),
# ncu of the M = 8 4096 x 14336 kernel both ways, probe ntload (issue 4, memcpy's
# non-temporal threshold).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s25.py sm:3 > $OUT/probe_sm.txt 2>&1; echo "sm rc=$?"; cat $OUT/probe_sm.txt | tail -40
for v in plan sm; do
  timeout 90 ncu --section SpeedOfLight --section MemoryWorkloadAnalysis --section SchedulerStats --section WarpStateStats --section Occupancy --section LaunchStats -k regex:cq_q4_0_mv_tc --launch-skip 3 --launch-count 1 python3 notes/probe_s25.py ncu8:$v > $OUT/ncu8_$v.txt 2>&1; echo "ncu $v rc=$?"
  grep -E "^kernel|Duration|L1/TEX Hit|L2 Hit|DRAM Throughput|L1/TEX Cache Throughput|L2 Cache Throughput|Issue Slots Busy|No Eligible|Achieved Occupancy|Mem Busy|Max Bandwidth|Grid Size" $OUT/ncu8_$v.txt | head -16
done
timeout 150 python3 notes/probe_s25.py ntload:5 > $OUT/ntload.txt 2>&1; echo "ntload rc=$?"; tail -3 $OUT/ntload.txt
GLIBC_TUNABLES=glibc.cpu.x86_non_temporal_threshold=0x100000 timeout 60 python3 notes/probe_s25.py ntload:5 >> $OUT/ntload.txt 2>&1; echo "ntload nt rc=$?"; tail -1 $OUT/ntload.txt
timeout 60 python3 notes/probe_s25.py ntload:5 >> $OUT/ntload.txt 2>&1; tail -1 $OUT/ntload.txt
GLIBC_TUNABLES=glibc.cpu.x86_non_temporal_threshold=0x100000 timeout 60 python3 notes/probe_s25.py ntload:5 >> $OUT/ntload.txt 2>&1; tail -1 $OUT/ntload.txt
