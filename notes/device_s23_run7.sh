# Session 23, run 7 (H200): the one-row kernels' x records filled eight at a
# time: their tests and the queue test, then probe fill (A/B against four at
# a time), two rounds on three shapes (little device time was left).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 90 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "one_row or tile_queue" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/tests.txt; grep -m5 -E "^FAILED|^ERROR" $OUT/tests.txt
timeout 100 python3 notes/probe_s23.py fill 2 3 > $OUT/probe_fill.txt 2>&1; echo "probe rc=$?"; grep "^r" $OUT/probe_fill.txt | sort -k2,2 -s; tail -3 $OUT/probe_fill.txt | grep -v "^r"; true
