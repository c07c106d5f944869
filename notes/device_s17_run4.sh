# Session 17, run 4 (H200): the tail launch (last wave split over K): wgmma
# GPU tests, memcheck (notes/sanitize_s17.py, now with the tail), A/B on
# 128256 x 4096 and matrix-vector M = 8 knobs (probe part tail).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "wgmma or auto" > $OUT/t_wgmma.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_wgmma.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_wgmma.txt
timeout 120 compute-sanitizer --tool memcheck python3 notes/sanitize_s17.py > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -c " ok$" $OUT/memcheck.txt; grep -c "BAD" $OUT/memcheck.txt; grep "^tail" $OUT/memcheck.txt; tail -1 $OUT/memcheck.txt
timeout 120 python3 notes/probe_s17.py tail > $OUT/probe_tail.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_tail.txt
