# Session 29, run 2 (H200): every GPU test (first run of session 28's last
# refactor and of the in-place path with the rest), compute-sanitizer memcheck
# of in-place launches, and the probe of the ordinary kernels without / with
# __restrict__.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
timeout 330 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/tests_all.txt 2>&1; echo "tests rc=$?"
tail -4 $OUT/tests_all.txt
timeout 120 compute-sanitizer --tool memcheck --error-exitcode 3 python3 -m pytest tests/test_inplace.py -q -p no:cacheprovider -k "equals_ordinary and (Q4_0 or Q6_K or IQ1_S or BF16)" > $OUT/memcheck_inplace.txt 2>&1; echo "memcheck rc=$?"
tail -3 $OUT/memcheck_inplace.txt
timeout 120 python3 notes/probe_s29.py restrict inplace > $OUT/probe_restrict.txt 2>&1; echo "probe rc=$?"
cat $OUT/probe_restrict.txt
