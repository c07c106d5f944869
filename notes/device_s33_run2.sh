# Session 33, run 2 (H200): probe st3; every matmul GPU test and memcheck of the x_shared / one-row tests on the submitted kernels (staged x fill, cvt.rn.f16x2 records).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 200 python3 notes/probe_s33.py precompile:s1,st3 > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -4 $OUT/precompile.txt
timeout 150 python3 notes/probe_s33.py st3:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-200 $OUT/probe.txt
timeout 240 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -3 $OUT/tests_matmul.txt
timeout 150 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "one_row or x_shared_or_not or x_shared_tile_queue or float32_activation_range or nonfinite" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -4 $OUT/memcheck.txt
