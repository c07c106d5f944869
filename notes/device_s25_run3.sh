# Session 25, run 3 (H200): probe xr (x through the stage ring, issue 5 M = 2-8), memcheck of the
# "_xr" kernels (probe xrmem), ncu of the (16, 32, 2) "_xr" kernel on 4096 x 14336 M = 8.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 300 python3 notes/probe_s25.py xr:2 > $OUT/probe_xr.txt 2>&1; echo "xr rc=$?"; cut -c1-900 $OUT/probe_xr.txt | tail -40
timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 python3 notes/probe_s25.py xrmem > $OUT/xrmem.txt 2>&1; echo "memcheck rc=$?"; grep -c "max |y" $OUT/xrmem.txt; grep -E "ERROR SUMMARY|Invalid" $OUT/xrmem.txt | head -5
