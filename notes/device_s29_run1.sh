# Session 29, run 1 (H200): the in-place loader path. Its kernel tests, the
# loader's GPU tests (three paths now), the probes (in-place against the
# ordinary launch; the ordinary kernels without / with __restrict__), then
# the load benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 150 python3 -m pytest tests/test_inplace.py -q -p no:cacheprovider -rs -x > $OUT/tests_inplace.txt 2>&1; echo "inplace tests rc=$?"
tail -3 $OUT/tests_inplace.txt
timeout 180 python3 -m pytest tests/test_gpu_loader.py -q -p no:cacheprovider -rs -x > $OUT/tests_loader.txt 2>&1; echo "loader tests rc=$?"
tail -3 $OUT/tests_loader.txt
timeout 100 python3 notes/probe_s29.py inplace > $OUT/probe_inplace.txt 2>&1; echo "probe inplace rc=$?"
cat $OUT/probe_inplace.txt
timeout 120 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "bench rc=$?"
grep -E "^  (load|first|host|sweep)" $OUT/bench_load.txt
