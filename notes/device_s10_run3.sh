# Session 10, run 3 (H200): matmul GPU tests of the persistent x_shared
# matrix-vector kernels (the new defaults); matrix-vector A/B: previous
# commit's kernel, the new choice, the new choice without x_shared, on the
# benchmark shapes and two in between.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 150 python3 -m pytest tests/test_matmul.py -q -x -p no:cacheprovider > $OUT/t_matmul.txt 2>&1; echo "matmul tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m6 -E "^FAILED|^ERROR" -A30 $OUT/t_matmul.txt | head -60
PROBE_MV=old,auto,auto_noxs PROBE_SHAPES=4096x4096,14336x4096,4096x14336,128256x4096,28672x4096,57344x4096 PROBE_CASES=1:float16,1:float32,2:float32,8:float16,4:float16 timeout 200 python3 notes/probe_s10.py mv 2>&1 | tee $OUT/probe_mv.txt
