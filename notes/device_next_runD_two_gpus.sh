# Run D, only if a machine of two GPUs is lent (kind nvidia-h100-x2 or nvidia-h200-x2; none ever was up to
# session 42): device_map over real GPUs, and matmul on the second GPU. The tests that need two GPUs skip on one.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1 CUPY_CACHE_DIR=$PWD/build/cupy_cache
git log -1 --format=%h 2>/dev/null; nvidia-smi --query-gpu=index,name --format=csv,noheader; nvidia-smi topo -m
timeout 240 python3 -m pytest tests/test_gpu_loader.py tests/test_matmul.py -q -p no:cacheprovider -rs -k "device_map or second_gpu or different_devices" > $OUT/t_two_gpus.txt 2>&1; echo "two-GPU tests rc=$?"; tail -3 $OUT/t_two_gpus.txt; grep -m6 -E "^FAILED|^ERROR|SKIPPED" $OUT/t_two_gpus.txt | cut -c1-300
