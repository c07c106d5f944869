# Session 22, run 5 (H200): after the final review (the loader calling
# dequant_launcher per piece; the launch config helper; the cluster rule in
# one place): the loader, launch and cluster / split tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 190 python3 -m pytest tests/test_gpu_loader.py tests/test_launch.py tests/test_matmul.py -q -p no:cacheprovider -rs -x -k "loader or load or launch or pdl or cluster or split_model or failure" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/tests.txt; grep -m5 -E "^FAILED|^ERROR" $OUT/tests.txt
