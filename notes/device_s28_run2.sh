# Session 28, run 2 (H200; run again as run 3 after the static shared memory fix): probes capab (MV_CAP_OCCUPANCY on / off, the
# shipped code) and capgeo (the (16, 64, 3) ring), then the matmul tests that cover the cap and the PDL chain.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 360 python3 notes/probe_s28.py capab:2 capgeo:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
timeout 200 python3 -m pytest -q -p no:cacheprovider -rs tests/test_launch.py tests/test_matmul.py -k "cap or one_row or x_shared or clusters or dependent or early or x_ring" > $OUT/tests.txt 2>&1; echo "tests rc=$?"
tail -5 $OUT/tests.txt; cat $OUT/probe.txt | tail -110
