# Session 34, run 1 (H200): probe (check, m1copy, rows), every matmul GPU test, memcheck of the x_shared tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py .probe/s33_q4_0_matmul.hip
timeout 130 python3 notes/probe_s34.py precompile > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -3 $OUT/precompile.txt
timeout 50 python3 notes/probe_s34.py check > $OUT/check.txt 2>&1; echo "check rc=$?"; cut -c1-220 $OUT/check.txt
timeout 200 python3 notes/probe_s34.py m1copy:2 rows:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-200 $OUT/probe.txt
timeout 135 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -3 $OUT/tests_matmul.txt
timeout 65 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "one_row or x_shared" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -2 $OUT/memcheck.txt
