# Session 13, run 5 (H200): the rest of the check on the code to submit:
# loader GPU tests (its kernels take the L2 prefetch distance now), the
# sanitizer script with the NaN-aware comparison, the matmul and load
# benchmarks, the demo.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 80 python3 -m pytest tests/test_gpu_loader.py -q -p no:cacheprovider -rs > $OUT/t_loader.txt 2>&1; echo "loader tests rc=$?"; tail -1 $OUT/t_loader.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_loader.txt
timeout 90 compute-sanitizer --tool memcheck --print-limit 5 python3 notes/sanitize_s13.py > $OUT/sanitize.txt 2>&1; echo "sanitizer rc=$?"; grep -c ": ok" $OUT/sanitize.txt; grep -E "MISMATCH|ERROR SUMMARY" $OUT/sanitize.txt | head -3
timeout 160 python3 benchmarks/test_bench_matmul.py --json $OUT/matmul.json > $OUT/bench_matmul.txt 2>&1; echo "matmul bench rc=$?"
cat $OUT/bench_matmul.txt
timeout 100 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider --benchmark-json=$OUT/load.json > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"
grep -E "^  (load|first|host|CPU|sweep)|^load_gguf" $OUT/bench_load.txt
timeout 40 python3 -m cupyquant demo > $OUT/demo.txt 2>&1; echo "demo rc=$?"; tail -3 $OUT/demo.txt
