# Session 14, run 9 (H200): wgmma split-K on small grids: wgmma GPU tests,
# compute-sanitizer memcheck (split included), split A/B against dequant_gemm / matvec.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 120 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -k "wgmma or auto" > $OUT/t_wgmma.txt 2>&1; echo "wgmma tests rc=$?"; tail -1 $OUT/t_wgmma.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_wgmma.txt
timeout 120 compute-sanitizer --tool memcheck python3 notes/sanitize_s14.py > $OUT/sanitize.txt 2>&1; echo "sanitizer rc=$?"; grep -c " ok" $OUT/sanitize.txt; grep -E "BAD|ERROR SUMMARY|Invalid" $OUT/sanitize.txt | head -5
timeout 150 python3 notes/probe_s14.py wgsplit 2>&1 | tee $OUT/probe_wgsplit.txt
