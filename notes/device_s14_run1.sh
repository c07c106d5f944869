# Session 14, run 1 (H200): x_shared fill with batched loads (A/B against the
# old order); wgmma Q4_0 matrix-matrix prototype; matmul + launch + dequant GPU
# tests on the fill change and the host refactors (_mv_fit, lru_cache).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
PROBE_WG_STAGES=4,5 timeout 150 python3 notes/probe_s14.py wgmma 2>&1 | tee $OUT/probe_wgmma.txt
timeout 200 python3 notes/probe_s14.py fill 2>&1 | tee $OUT/probe_fill.txt
timeout 170 python3 -m pytest tests/test_matmul.py tests/test_launch.py tests/test_gpu_dequant.py -q -p no:cacheprovider -x -rs > $OUT/t_tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/t_tests.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_tests.txt
