# Session 36, run 1 (H200): the x_shared kernels without a queue on builds with registers for the 2-3 thread blocks an SM they have (MV_XS_UNQUEUED_REG_BOUND; generalises 5f71514): knob on / off, their GPU tests, memcheck.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
md5sum cupyquant/hip/q4_0_matmul.hip cupyquant/qmatmul.py cupyquant/matmul_kernels.py tests/test_matmul.py
timeout 170 python3 notes/probe_s35.py precompile:shipped,nobf16 > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -3 $OUT/precompile.txt
timeout 200 python3 notes/probe_s36.py regb:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"; cut -c1-220 $OUT/probe.txt
timeout 90 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "reg_bound" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -4 $OUT/tests.txt
timeout 90 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "unqueued_reg_bound" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -2 $OUT/memcheck.txt
