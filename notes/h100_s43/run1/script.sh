# Next device session, run A (one 600 s call, H100 or H200): the package AS SUBMITTED. Owed since session 40:
# every GPU test (test_matvec_f32_one_row_long_k has never run), the matmul benchmark (no table since session
# 39), then probe_s40 mvf32 (the float32 M = 1 plan rules against session 39's plan) if time is left.
# Session 39's run 2 (precompile + every GPU test + benchmark) fitted one call: tests 211 s.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/build/cupy_cache
git log -1 --format=%h 2>/dev/null; md5sum cupyquant/qmatmul/*.py cupyquant/gpu/*.py cupyquant/hip/*.hip | cut -c1-12,34-
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.max.mem --format=csv,noheader
timeout 150 python3 notes/probe_s36.py precompile:shipped > $OUT/precompile.txt 2>&1; echo "precompile rc=$?"; tail -1 $OUT/precompile.txt
timeout 60 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "f32_one_row_long_k" > $OUT/tests_f32long.txt 2>&1; echo "f32 long-K test rc=$?"; tail -5 $OUT/tests_f32long.txt | cut -c1-300
timeout 280 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py --ignore=tests/test_amd_decode_folding.py > $OUT/tests_all.txt 2>&1; echo "GPU tests rc=$?"; grep -E "^(FAILED|ERROR)" $OUT/tests_all.txt | head -20 | cut -c1-300; tail -2 $OUT/tests_all.txt
cd benchmarks && timeout 150 python3 test_bench_matmul.py --json $OUT/bench_matmul.json > $OUT/bench_matmul.txt 2>&1; echo "bench rc=$?"; tail -40 $OUT/bench_matmul.txt; cd ..
timeout 60 python3 -u notes/probe_s40.py mvf32:1 2>&1 | tee $OUT/probe_mvf32.txt | cut -c1-200
