# Session 21, run 5 (H200): clusters whose other splits store their sums into
# split 0's shared memory and leave (every split grid with a thread block a
# tile): the cluster, launch and matrix-vector tests, memcheck of the cluster
# tests, probe part ab (session 20's rules / the model without clusters /
# the model with clusters).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs -x -k "cluster or matvec or launch or pdl or early or dependent or split" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests.txt; grep -m5 -E "^FAILED|^ERROR|Error" $OUT/tests.txt
timeout 90 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "split_k_in_clusters" > $OUT/memcheck_cl.txt 2>&1; echo "memcheck cl rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck_cl.txt | tail -3
timeout 300 python3 notes/probe_s21.py ab > $OUT/probe_ab.txt 2>&1; echo "probe ab rc=$?"; cat $OUT/probe_ab.txt
