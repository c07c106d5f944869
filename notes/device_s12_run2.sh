# Session 12, run 2 (H200): matrix-vector PDL variants (off / wait only /
# early trigger), loader sweep with a timeline of each setting (early fills,
# piece size, threads, PDL), launch cost on the host, host/GPU contention;
# then the loader and matmul GPU tests.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s12.py pdl_mv 2>&1 | tee $OUT/probe_pdl_mv.txt
timeout 150 python3 notes/probe_s12.py load 2>&1 > $OUT/probe_load.txt; echo "load rc=$?"; grep -v "^  chunk" $OUT/probe_load.txt
timeout 120 python3 -m pytest tests/test_gpu_loader.py -q -p no:cacheprovider -rs > $OUT/t_loader.txt 2>&1; echo "loader tests rc=$?"; tail -1 $OUT/t_loader.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_loader.txt
timeout 100 python3 -m pytest tests/test_matmul.py -q -x -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -1 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
