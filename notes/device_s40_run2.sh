# Session 40, run 2 (H200): float32 x converted while the wgmma kernel runs (cq_x_f32_to_f16_stages + PDL,
# WGMMA_X_F32_STAGES) and the two float32 M = 1 plan rules (MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS,
# _mv_small_ring_more_resident): the new test first (short limit: a wait that never ends would show there), then
# the matmul and launch GPU tests, memcheck of the new test, and one round of probe_s40 xconv.
# (First tries of this run got no machine; made leaner then: the other GPU test files moved to run 3.)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
git log -1 --format=%h 2>/dev/null; md5sum cupyquant/hip/q4_0_matmul_sm90.hip cupyquant/qmatmul.py tests/test_matmul.py
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -1 $OUT/precompile.txt
timeout 120 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -x -k "x_f32_stages" > $OUT/tests_stages.txt 2>&1; echo "stages tests rc=$?"; tail -30 $OUT/tests_stages.txt | cut -c1-300
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/tests_matmul.txt 2>&1; echo "GPU tests rc=$?"; grep -E "^(FAILED|ERROR)" $OUT/tests_matmul.txt | head -20 | cut -c1-300; tail -3 $OUT/tests_matmul.txt
timeout 80 compute-sanitizer --tool memcheck --error-exitcode 9 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "x_f32_stages and 3-64" > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; tail -3 $OUT/memcheck.txt
timeout 120 python3 -u notes/probe_s40.py xconv:1 2>&1 | tee $OUT/probe_xconv.txt | cut -c1-250
