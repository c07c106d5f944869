# Session 23, run 2 (H200): the one-row kernels with their x records filled
# four at a time (branchless parity): probe m1b (A/B against the generic
# kernels), then the one-row / x_shared tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s23.py m1b > $OUT/probe_m1b.txt 2>&1; echo "probe rc=$?"; grep -v "^r[0-3] " $OUT/probe_m1b.txt | tail -8; grep "^r" $OUT/probe_m1b.txt | sort -k2,2 -s
timeout 200 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -x -k "one_row or x_shared or queue or cluster" > $OUT/tests.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/tests.txt; grep -m5 -E "^FAILED|^ERROR" $OUT/tests.txt; true
