# Session 12, run 8 (H200): matmul + launch GPU tests and the host cost of a
# matmul call on the submitted head (dtype names remembered).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 130 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul_launch.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul_launch.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul_launch.txt
timeout 30 python3 notes/probe_s12.py launchcost > $OUT/probe_launchcost.txt 2>&1; head -8 $OUT/probe_launchcost.txt; true
