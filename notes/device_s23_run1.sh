# Session 23, run 1 (H200): the one-row matrix-vector kernels ("_xs1",
# "_xsq1"): the matmul tests that reach them (and every kernel compiled,
# also with -G), then probe part m1 (A/B against the generic kernels and
# against the one-row kernels without the aligned order).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm --format=csv > $OUT/gpu.txt 2>&1
timeout 200 python3 notes/probe_s23.py m1 > $OUT/probe_m1.txt 2>&1; echo "probe rc=$?"; tail -30 $OUT/probe_m1.txt
timeout 300 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -x -k "one_row or x_shared or queue or cluster or every_kernel or paths_accuracy or shapes_and_alignment" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/tests.txt; grep -m5 -E "^FAILED|^ERROR|Error" $OUT/tests.txt
