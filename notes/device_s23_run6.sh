# Session 23, run 6 (H200): memcheck of the one-row kernels (their tests,
# and the queue test), then ncu of "_xs1" on 4096 x 14336 and "_xsq1" on
# 128256 x 4096 at M = 1.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "one_row or tile_queue" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -3 $OUT/memcheck.txt
for shape in "4096 14336" "128256 4096"; do
  tag=$(echo $shape | tr ' ' x)
  timeout 120 ncu --set full -k regex:cq_q4_0_mv_tc --launch-skip 4 --launch-count 1 -o $OUT/ncu_$tag python3 notes/probe_s23.py ncu $shape > $OUT/ncu_$tag.log 2>&1; echo "ncu $tag rc=$?"; grep -E "plan|kernel" $OUT/ncu_$tag.log | head -3
  ncu -i $OUT/ncu_$tag.ncu-rep --page details > $OUT/ncu_$tag.txt 2>&1
  ncu -i $OUT/ncu_$tag.ncu-rep --page source --csv --print-source sass > $OUT/ncu_${tag}_sass.csv 2>&1
  grep -E "Duration|Registers Per|Achieved Occupancy|Issue Slots Busy|No Eligible|Warp Cycles Per Issued|DRAM Throughput|L2 Hit|SM Frequency|Executed Ipc" $OUT/ncu_$tag.txt | head -14
  python3 notes/ncu_sass_top.py $OUT/ncu_${tag}_sass.csv 2>&1 | head -14
  gzip -f $OUT/ncu_${tag}_sass.csv; rm -f $OUT/ncu_$tag.ncu-rep
done
