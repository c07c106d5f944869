# Session 31, run 2 (H200): the read-only weights bit (CQ_MV_READ_ONLY_W) as shipped: its GPU test and
# the matmul tests; probe_s31 check8 and fill (the read-only bit on / off x two x-record fills).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD
grep -c "CQ_MV_READ_ONLY_W" cupyquant/hip/q4_0_matmul.hip cupyquant/hip/q4_0_mm_common.hip
timeout 200 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -x -k "read_only or capped or matvec_x_ring or one_row or queue" > $OUT/tests_ro.txt 2>&1; echo "tests rc=$?"; tail -3 $OUT/tests_ro.txt
timeout 330 python3 notes/probe_s31.py check8 fill:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cut -c1-600 $OUT/probe.txt
