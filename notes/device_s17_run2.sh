# Session 17, run 2 (H200): the split-K sum reading every partial back
# (probe part split2: A/B against the start of the session), matrix-vector
# M = 8 knobs (part mv8), ncu of the session-start wgmma kernel at M = 512 on
# 4096^2 (its stalls after session 16's weights-lead change), wgmma tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s17.py split2 > $OUT/probe_split2.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_split2.txt
timeout 60 python3 notes/probe_s17.py mv8 > $OUT/probe_mv8.txt 2>&1; echo "mv8 rc=$?"; cat $OUT/probe_mv8.txt
s=4096x4096
PROBE_SRC=prev PROBE_SHAPE=$s timeout 120 ncu --set full -k regex:cq_q4_0_mm_wgmma --launch-skip 2 --launch-count 1 -o $OUT/ncu_wg_$s python3 notes/probe_s17.py ncu_wg > $OUT/ncu_wg_$s.log 2>&1; echo "ncu rc=$?"
ncu -i $OUT/ncu_wg_$s.ncu-rep --page details > $OUT/ncu_wg_$s.txt 2>&1
ncu -i $OUT/ncu_wg_$s.ncu-rep --page source --csv --print-source sass > $OUT/ncu_wg_${s}_sass.csv 2>&1
gzip -f $OUT/ncu_wg_${s}_sass.csv; rm -f $OUT/ncu_wg_$s.ncu-rep
grep -E "Duration|Issue Slots Busy|No Eligible|L2 Cache Throughput|Compute \(SM\)" $OUT/ncu_wg_$s.txt | head -8
timeout 120 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "wgmma" > $OUT/t_wgmma.txt 2>&1; echo "wgmma tests rc=$?"; tail -1 $OUT/t_wgmma.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_wgmma.txt
