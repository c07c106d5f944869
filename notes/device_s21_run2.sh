# Session 21, run 2 (H200): split-K matrix-vector sums in thread block
# clusters (probe part cluster: bits against the global sum, timing under
# MV_BLOCKS_PER_SM 0.5 / 1.0 / 1.5), then the matmul and launch GPU tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 260 python3 notes/probe_s21.py cluster > $OUT/probe_cluster.txt 2>&1; echo "probe cluster rc=$?"; cat $OUT/probe_cluster.txt
timeout 300 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs -x -k "cluster or matvec or launch or pdl or early or dependent" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -15 $OUT/tests.txt
