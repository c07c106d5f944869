# Session 40, run 1 (H200): session 39's run 5 (never ran): probe_s39 f32m1q and f32geo, printed as they go;
# then the two float32 matrix-vector GPU tests whose setup this session moved into a helper
# (_f32_matvec_case; _knob_on_off_same_bits now returns its result).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
md5sum cupyquant/qmatmul.py tests/test_matmul.py
timeout 330 python3 -u notes/probe_s39.py f32m1q:2 f32geo:2 2>&1 | tee $OUT/probe_f32geo.txt | cut -c1-200
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "f32_queue_kernels or unqueued_reg_bound" > $OUT/tests_f32.txt 2>&1; echo "f32 tests rc=$?"; tail -4 $OUT/tests_f32.txt
