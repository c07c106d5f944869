# Session 35, run 6 (H200): every GPU test outside test_matmul.py (dequantization, loader, demo, ...) on the submitted code.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
git log --oneline -1 2>/dev/null; md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py cupyquant/matmul_kernels.py
timeout 150 python3 notes/probe_s35.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -1 $OUT/precompile.txt
timeout 300 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_matmul.py > $OUT/tests_other.txt 2>&1; echo "other tests rc=$?"; tail -6 $OUT/tests_other.txt
