# Session 13, run 2 (H200): matrix-vector stage-ring geometries (deeper
# rings: more of K in flight a thread block), A/B in one process; the
# dequant-shaped write kernels (fixed signature); TQ1_0 -> float32 timeline
# with one-tile thread blocks against persistent grids of 4 and 8 an SM.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 330 python3 notes/probe_s13.py mvgeo 2>&1 | tee $OUT/probe_mvgeo.txt
timeout 60 python3 notes/probe_s13.py wr 2>&1 | tee $OUT/probe_wr.txt
PROBE_PERSISTENT=4,8 PROBE_DTYPES=float32 timeout 100 python3 notes/probe_s13.py trace_dq TQ1_0 2>&1 > $OUT/probe_trace_dq.txt; grep -v "per 0.5\|per 500" $OUT/probe_trace_dq.txt
