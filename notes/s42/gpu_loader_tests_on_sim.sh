# Session 42, one-off: tests/test_gpu_loader.py (the GPU loader's device tests) on tests/gpu_sim.py's simulated
# machine of two GPUs instead of CuPy, without a GPU. A copy of tests/ whose conftest `cp` fixture is the
# simulation (notes/s42/conftest_sim.patch: a pool that counts used bytes only, OutOfMemoryError, the platform's
# gpu_available patched). Deselected: bfloat16 (NumPy has no such dtype) and the tests of CuPy's own memory
# pools (limits, growth, pinned blocks), which the simulation does not model. Output: gpu_loader_tests_on_sim.txt.
set -e
rm -rf /tmp/simrun && mkdir -p /tmp/simrun && cp -r tests /tmp/simrun/
patch -s -d /tmp/simrun -p1 < notes/s42/conftest_sim.patch
cd /tmp/simrun && PYTHONPATH="$OLDPWD" python -m pytest -p no:cacheprovider tests/test_gpu_loader.py -q \
    -k "not bfloat16 and not pool_limit and not pinned_buffers and not takes_no_device_staging"
