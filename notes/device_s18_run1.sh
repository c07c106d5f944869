# Session 18, run 1 (H200): one-warpgroup wgmma blocks (64 weight rows x 256
# activation rows, the _r64 kernels): their GPU tests, memcheck, and the A/B
# probe against the 128-row plans (notes/probe_s18.py r64).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s18.py r64 > $OUT/probe_r64.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_r64.txt
timeout 200 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -x -k "wgmma or auto_path or choice" > $OUT/t_matmul.txt 2>&1; echo "tests rc=$?"; tail -1 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR|^SKIPPED|Error" $OUT/t_matmul.txt
timeout 120 compute-sanitizer --tool memcheck python3 notes/sanitize_s18.py > $OUT/memcheck.txt 2>&1; echo "memcheck rc=$?"; grep -c " ok$" $OUT/memcheck.txt; grep -c "BAD" $OUT/memcheck.txt; grep "r64\|256r64" $OUT/memcheck.txt | head -5; tail -1 $OUT/memcheck.txt
