# Session 20, run 8 (H200): ncu (full set, one launch, source page as CSV) of
# the submitted "_xsq" (four copy warps) on 128256 x 4096 at M = 1, as session
# 19's run 7 did for the eight-warp kernel: where the time goes now.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
PROBE_XSQ=1 timeout 150 ncu --set full -k regex:cq_q4_0_mv_tc --launch-skip 4 --launch-count 1 -o $OUT/ncu_xsq python3 notes/probe_s19.py ncu > $OUT/ncu_xsq.log 2>&1; echo "ncu rc=$?"; grep kernel $OUT/ncu_xsq.log
ncu -i $OUT/ncu_xsq.ncu-rep --page details > $OUT/ncu_xsq.txt 2>&1
ncu -i $OUT/ncu_xsq.ncu-rep --page source --csv --print-source sass > $OUT/ncu_xsq_sass.csv 2>&1
grep -E "Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Memory Throughput|DRAM Throughput|L2 Hit|SM Frequency|Executed Ipc" $OUT/ncu_xsq.txt | head -16
python3 notes/ncu_sass_top.py $OUT/ncu_xsq_sass.csv 2>&1 | head -20
gzip -f $OUT/ncu_xsq_sass.csv; rm -f $OUT/ncu_xsq.ncu-rep
