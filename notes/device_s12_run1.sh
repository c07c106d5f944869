# Session 12, run 1 (H200): programmatic dependent launch (PDL) A/B on the
# dequant and matrix-vector kernels, a read-only ceiling with and without
# PDL, the long-K split rule, a timeline of one load and a host/GPU
# contention test (notes/probe_s12.py); then the dequant + matmul GPU tests
# with PDL on (the default).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 40 python3 -m cupyquant demo > $OUT/demo.txt 2>&1; echo "demo rc=$?"; tail -2 $OUT/demo.txt
timeout 40 python3 notes/probe_s12.py ceil 2>&1 | tee $OUT/probe_ceil.txt
timeout 100 python3 notes/probe_s12.py pdl_dq 2>&1 | tee $OUT/probe_pdl_dq.txt
timeout 150 python3 notes/probe_s12.py pdl_mv 2>&1 | tee $OUT/probe_pdl_mv.txt
timeout 120 python3 notes/probe_s12.py load 2>&1 > $OUT/probe_load.txt; echo "load rc=$?"; grep -v "^  chunk" $OUT/probe_load.txt
timeout 150 python3 -m pytest tests/test_gpu_dequant.py tests/test_matmul.py -q -x -p no:cacheprovider -rs > $OUT/t_dequant_matmul.txt 2>&1; echo "dequant+matmul tests rc=$?"; tail -2 $OUT/t_dequant_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant_matmul.txt
