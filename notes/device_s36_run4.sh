# Session 36, run 4 (H200) -- NEVER RAN (no machine lent). For the next session: float32 x M = 1-4 on the queue kernel, staged in the package (commit 0a1c6a9, "STAGED float32 queue": `git cherry-pick 0a1c6a9` first, see notes/closing_s36.md): knob on / off, the matmul GPU tests (the new test_matvec_f32_queue_kernels), memcheck of the queue tests, the benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py cupyquant/matmul_kernels.py tests/test_matmul.py
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -2 $OUT/precompile.txt
timeout 130 python3 notes/probe_s36.py f32q2:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-220 $OUT/probe.txt
timeout 200 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -4 $OUT/tests_matmul.txt
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "reg_bound or tile_queue or f32_queue" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -2 $OUT/memcheck.txt
