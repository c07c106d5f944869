# Session 33, run 6 (H200): the x_shared fills through cp.async (probe async, outputs checked), every matmul GPU test on the submitted kernels, memcheck of the x_shared tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 200 python3 notes/probe_s33.py precompile:shipped,a0f16,a1f16,a0f32,a1f32 > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -6 $OUT/precompile.txt
timeout 120 python3 notes/probe_s33.py check:a0f16,a1f16,a0f32,a1f32 > $OUT/check.txt 2>&1; echo "check rc=$?"; grep -v "^===" $OUT/check.txt | cut -c1-200
timeout 200 python3 notes/probe_s33.py async:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-200 $OUT/probe.txt
timeout 200 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -3 $OUT/tests_matmul.txt
timeout 100 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "one_row or x_shared or float32_activation_range or nonfinite" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -4 $OUT/memcheck.txt
