# Session 29, run 4 (H200): the in-place launch mark read by one thread a thread block
# (was every thread): in-place tests, memcheck of some, and
# the in-place probe again.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 150 python3 -m pytest tests/test_inplace.py -q -p no:cacheprovider -rs -x > $OUT/tests_inplace.txt 2>&1; echo "inplace tests rc=$?"
tail -2 $OUT/tests_inplace.txt
timeout 100 compute-sanitizer --tool memcheck --error-exitcode 3 python3 -m pytest tests/test_inplace.py -q -p no:cacheprovider -k "equals_ordinary and (Q4_0 or Q6_K or IQ1_S or BF16)" > $OUT/memcheck_inplace.txt 2>&1; echo "memcheck rc=$?"
tail -2 $OUT/memcheck_inplace.txt
timeout 100 python3 notes/probe_s29.py inplace > $OUT/probe_inplace.txt 2>&1; echo "probe rc=$?"
cat $OUT/probe_inplace.txt
