# Session 11, run 1 (H200): GPU tests of dequant + matmul on the working tree,
# then A/B against the previous commit's kernels (notes/probe_s11.py):
# matrix-vector (x_shared records over the last row's padding: 5 thread
# blocks an SM), dequant (every format), and the write-only ceiling.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 200 python3 -m pytest tests/test_gpu_dequant.py tests/test_matmul.py -q -x -p no:cacheprovider -rs > $OUT/t_dequant_matmul.txt 2>&1; echo "dequant+matmul tests rc=$?"; tail -2 $OUT/t_dequant_matmul.txt; grep -m6 -E "^FAILED|^ERROR" $OUT/t_dequant_matmul.txt
timeout 130 python3 notes/probe_s11.py mv 2>&1 | tee $OUT/probe_mv.txt
timeout 170 python3 notes/probe_s11.py dq 2>&1 | tee $OUT/probe_dq.txt
timeout 50 python3 notes/probe_s11.py write 2>&1 | tee $OUT/probe_write.txt
