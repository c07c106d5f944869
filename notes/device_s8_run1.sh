# Session 8, run 1 (H200): matmul tests on the stream-K matrix-vector kernel,
# then the probes (notes/probe_s8.py): kernels and geometries, dequant sweep, ncu.
# Ran on an earlier working tree (a stream-K matrix-vector kernel, since removed).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -x -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR|Error" $OUT/t_matmul.txt
timeout 200 python3 notes/probe_s8.py mv 2>&1 | tee $OUT/probe_mv.txt | grep -v Warn
timeout 60 ncu --section SpeedOfLight --section WarpStateStats --section SchedulerStats --section Occupancy --section LaunchStats -k regex:cq_q4_0_mv_sk --launch-skip 4 --launch-count 1 python3 notes/probe_s8.py ncu > $OUT/ncu_sk.txt 2>&1; echo "ncu rc=$?"
grep -E "Memory Throughput|DRAM Throughput|Duration|Issue Slots Busy|Issued Ipc|No Eligible|Achieved Occupancy|Registers Per|Theoretical Occ|Warp Cycles Per Issued|Block Limit|One or More" $OUT/ncu_sk.txt | head -30
timeout 150 python3 notes/probe_s8.py dq 2>&1 | tee $OUT/probe_dq.txt
