# Session 12 final check on the code to submit (H200): every GPU test, the
# dequant / load / matmul benchmarks and the demo.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
git log --oneline -1 2>/dev/null
timeout 150 python3 -m pytest tests/test_gpu_dequant.py tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_dequant_matmul.txt 2>&1; echo "dequant+matmul+launch tests rc=$?"; tail -2 $OUT/t_dequant_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant_matmul.txt
timeout 80 python3 -m pytest tests/test_gpu_loader.py -q -p no:cacheprovider -rs > $OUT/t_loader.txt 2>&1; echo "loader tests rc=$?"; tail -1 $OUT/t_loader.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_loader.txt
timeout 80 python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -p no:cacheprovider --benchmark-json=$OUT/dequant.json > $OUT/bench_dequant.txt 2>&1; echo "dequant bench rc=$?"
python3 notes/dequant_table.py $OUT/dequant.json
timeout 140 python3 benchmarks/test_bench_matmul.py --json $OUT/matmul.json > $OUT/bench_matmul.txt 2>&1; echo "matmul bench rc=$?"
cat $OUT/bench_matmul.txt
timeout 90 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider --benchmark-json=$OUT/load.json > $OUT/bench_load.txt 2>&1; echo "load bench rc=$?"
grep -E "^  (load|first|host|CPU|sweep)|^load_gguf" $OUT/bench_load.txt
timeout 25 python3 -m cupyquant demo > $OUT/demo.txt 2>&1; echo "demo rc=$?"; tail -3 $OUT/demo.txt
