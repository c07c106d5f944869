# Session 23, run 7 (H200): the one-row kernels' x records filled eight at a
# time: their tests, then probe fill (A/B against four at a time).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "one_row or x_shared or tile_queue or split_k_in_clusters" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/tests.txt; grep -m5 -E "^FAILED|^ERROR" $OUT/tests.txt
timeout 180 python3 notes/probe_s23.py fill > $OUT/probe_fill.txt 2>&1; echo "probe rc=$?"; grep "^r" $OUT/probe_fill.txt | sort -k2,2 -s; tail -3 $OUT/probe_fill.txt | grep -v "^r"
