# Session 43, run 3 (H100, about 300 s of device time left): get_function builds a module's source only when
# the kernel is not cached (runtime._function / _sm90_function pass the source function). Every test that
# looks matmul or dequantization kernels up on the GPU, then the host-time benchmark once.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
nvidia-smi --query-gpu=name --format=csv,noheader
timeout 200 python3 -m pytest tests/test_matmul.py tests/test_launch.py tests/test_gpu_dequant.py -q -p no:cacheprovider -rs > $OUT/tests.txt 2>&1; echo "tests rc=$?"; grep -E "^(FAILED|ERROR)" $OUT/tests.txt | head -20 | cut -c1-300; tail -2 $OUT/tests.txt
cd benchmarks && timeout 40 python3 test_bench_matmul_host.py --json $OUT/host_now.json > $OUT/host_now.txt 2>&1; echo "host bench rc=$?"; cut -c1-200 $OUT/host_now.txt
