# Session 8, run 3 (H200): the tensor-core matrix-vector kernel with the lop3
# nibble decode: matmul tests, geometry variants, ncu instruction counts.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 240 python3 notes/probe_s8.py mv 2>&1 | tee $OUT/probe_mv.txt | grep -v Warn
M="smsp__inst_executed.sum,sm__cycles_active.avg,gpu__time_duration.sum,dram__throughput.avg.pct_of_peak_sustained_elapsed,smsp__warps_active.avg.per_cycle_active,smsp__issue_active.avg.per_cycle_active,regex:smsp__average_warps_issue_stalled_.*_per_issue_active.ratio"
timeout 60 ncu --metrics "$M" -k regex:cq_q4_0_mv_ --launch-skip 4 --launch-count 1 python3 notes/probe_s8.py ncu A > $OUT/ncu_A.txt 2>&1; echo "ncu rc=$?"
grep -E "^\s+(smsp|sm__|gpu__|dram)" $OUT/ncu_A.txt | awk '$NF+0 > 0.05 || /inst_exec|cycles_active|duration/' | sed 's/smsp__average_warps_issue_stalled_//;s/_per_issue_active.ratio//'
