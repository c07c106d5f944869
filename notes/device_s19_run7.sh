# Session 19, run 7 (H200): ncu (full set, one launch, source page as CSV) of
# the float16 matrix-vector kernels on 128256 x 4096 at M = 1, "_xsq" and
# "_xs", for the next session's analysis (M = 1 stays at 80% of the copy there).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
for q in 1 0; do
  PROBE_XSQ=$q timeout 150 ncu --set full -k regex:cq_q4_0_mv_tc --launch-skip 4 --launch-count 1 -o $OUT/ncu_xsq$q python3 notes/probe_s19.py ncu > $OUT/ncu_xsq$q.log 2>&1; echo "ncu xsq=$q rc=$?"; grep kernel $OUT/ncu_xsq$q.log
  ncu -i $OUT/ncu_xsq$q.ncu-rep --page details > $OUT/ncu_xsq$q.txt 2>&1
  ncu -i $OUT/ncu_xsq$q.ncu-rep --page source --csv --print-source sass > $OUT/ncu_xsq${q}_sass.csv 2>&1
  grep -E "Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|Memory Throughput|DRAM Throughput|L2 Hit|SM Frequency" $OUT/ncu_xsq$q.txt | head -16
  python3 notes/ncu_sass_top.py $OUT/ncu_xsq${q}_sass.csv 2>&1 | head -20
  gzip -f $OUT/ncu_xsq${q}_sass.csv; rm -f $OUT/ncu_xsq$q.ncu-rep
done
