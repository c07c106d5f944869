# Session 15, run 1 (H200): matmul + launch GPU tests on the s14 head's host
# refactors (platform.cuda_sm, _kernel_with_smem for wgmma; untested on a GPU),
# then the PDL probe: trigger after the last weight copy + L2 prefetch of the
# first stages before the wait (notes/probe_s15.py pdl).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 170 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 360 python3 notes/probe_s15.py pdl 2>&1 | tee $OUT/probe_pdl.txt
