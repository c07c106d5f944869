# Session 32, run 8 (H200): probe_s32 f32tiles (MV_X_SHARED_F32_TILES_PER_BLOCK), then the x_shared / plan matmul tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
timeout 150 python3 notes/probe_s32.py f32tiles:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cut -c1-300 $OUT/probe.txt
timeout 90 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "x_shared or capped or queue or paths_accuracy" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt
