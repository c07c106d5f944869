# Session 34, run 2 (H200): probe band (where "_xsq1c" wins), the matmul tests that failed in run 1 and the x_shared ones, every other GPU test.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py
timeout 130 python3 notes/probe_s34.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -2 $OUT/precompile.txt
timeout 150 python3 notes/probe_s34.py band:3 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-200 $OUT/probe.txt
timeout 60 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "one_row or x_shared or tiles_are_many" > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -3 $OUT/tests_matmul.txt
timeout 200 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_matmul.py > $OUT/tests_other.txt 2>&1; echo "other tests rc=$?"; tail -3 $OUT/tests_other.txt
