# Session 11, run 9 (H200): dequant_gemm in row chunks overlapped on two
# streams: its GPU tests, then chunk counts 1 / 2 / 4 / 8 at M = 512
# (notes/probe_s11.py mmpipe).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 60 python3 -m pytest tests/test_matmul.py -q -x -p no:cacheprovider -k "dequant_gemm" > $OUT/t_matmul_dg.txt 2>&1; echo "dequant_gemm tests rc=$?"; tail -1 $OUT/t_matmul_dg.txt; grep -m6 -E "^FAILED|^ERROR|Error" $OUT/t_matmul_dg.txt
timeout 90 python3 notes/probe_s11.py mmpipe 2>&1 | tee $OUT/probe_mmpipe.txt
