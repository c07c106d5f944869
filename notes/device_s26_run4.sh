# Session 26, run 4 (H200): probe xrclu ("_xr" split sums in clusters against the global sum).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 120 python3 notes/probe_s26.py xrclu > $OUT/probe_xrclu.txt 2>&1; echo "rc=$?"; tail -14 $OUT/probe_xrclu.txt; true
