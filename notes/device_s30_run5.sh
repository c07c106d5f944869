# Session 30, run 5 (H200): after the final review's loader change (job.base derived from job.dst):
# the loader's and the in-place GPU tests, then the load benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
grep -c "job.dst.data.ptr + job.layout.src_offset" cupyquant/gpu/loader.py
timeout 300 python3 -m pytest tests/test_gpu_loader.py tests/test_inplace.py -q -p no:cacheprovider -rs > $OUT/gpu_tests.txt 2>&1; echo "tests rc=$?"
tail -4 $OUT/gpu_tests.txt
timeout 170 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/bench_load.txt 2>&1; echo "load rc=$?"
grep -v "^$" $OUT/bench_load.txt | head -8 | cut -c1-300
