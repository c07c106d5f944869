# Session 21, run 7 (H200): the global split-K sum with one release-acquire
# atomic of thread 0 instead of __threadfence in every thread: the
# matrix-vector / split / cluster / queue / launch tests, memcheck of the
# split tests, probe part fence (A/B against the fences, bits).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs -k "cluster or matvec or launch or pdl or early or dependent or split or queue" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -2 $OUT/tests.txt; grep -m5 -E "^FAILED|^ERROR" $OUT/tests.txt
timeout 40 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "split_k_in_clusters or tile_queue" > $OUT/memcheck_split.txt 2>&1; echo "memcheck rc=$?"; grep -E "ERROR SUMMARY|passed|failed" $OUT/memcheck_split.txt | tail -3
timeout 140 python3 notes/probe_s21.py fence > $OUT/probe_fence.txt 2>&1; echo "probe fence rc=$?"; cat $OUT/probe_fence.txt
