# Session 22, run 1 (H200): every GPU test and memcheck (side by side: no
# timing), then probe parts occ and atomic (alone).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
(timeout 120 compute-sanitizer --tool memcheck python3 notes/sanitize_s18.py > $OUT/memcheck.txt 2>&1; echo "rc=$?" >> $OUT/memcheck.txt
 timeout 150 compute-sanitizer --tool memcheck python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "tile_queue or tiles_are_many or split_k_in_clusters or int8" > $OUT/memcheck_q.txt 2>&1; echo "rc=$?" >> $OUT/memcheck_q.txt) &
timeout 330 python3 -m pytest tests -q -p no:cacheprovider -rs --ignore=tests/test_compile.py > $OUT/t_all.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_all.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED" $OUT/t_all.txt
wait
echo "memcheck: $(grep -c ' ok$' $OUT/memcheck.txt) ok, $(grep -c BAD $OUT/memcheck.txt) bad; $(grep -E 'ERROR SUMMARY' $OUT/memcheck.txt | tail -1); $(tail -1 $OUT/memcheck.txt)"
echo "memcheck q: $(grep -E 'ERROR SUMMARY|passed|failed' $OUT/memcheck_q.txt | tail -2 | tr '\n' ' ') $(tail -1 $OUT/memcheck_q.txt)"
timeout 60 python3 notes/probe_s22.py occ > $OUT/probe_occ.txt 2>&1; echo "occ rc=$?"; cat $OUT/probe_occ.txt
timeout 170 python3 notes/probe_s22.py atomic > $OUT/probe_atomic.txt 2>&1; echo "atomic rc=$?"; cat $OUT/probe_atomic.txt
