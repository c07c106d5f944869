# Session 36, run 3 (H200) -- NEVER RAN: no machine was lent after run 2 (three attempts). For the next session: the mended GPU tests of the register-bound rules, every other GPU test (dequantization, loader, demo, ...) on the submitted code, and two probes: f32long (float32 x M = 1 at long K: geometry and K splits) and f32q (float32 x M = 1-4 on the queue kernel).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py cupyquant/matmul_kernels.py tests/test_matmul.py
timeout 150 python3 notes/probe_s36.py precompile:shipped,f32q > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -3 $OUT/precompile.txt
timeout 60 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "reg_bound" > $OUT/tests_regbound.txt 2>&1; echo "reg_bound tests rc=$?"; tail -2 $OUT/tests_regbound.txt
timeout 90 python3 notes/probe_s36.py f32long:2 > $OUT/probe_f32long.txt 2>&1; echo "probe rc=$?"; cut -c1-300 $OUT/probe_f32long.txt
timeout 130 python3 notes/probe_s36.py f32q:2 > $OUT/probe_f32q.txt 2>&1; echo "probe rc=$?"; cut -c1-300 $OUT/probe_f32q.txt
timeout 150 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_matmul.py > $OUT/tests_other.txt 2>&1; echo "other tests rc=$?"; tail -4 $OUT/tests_other.txt
