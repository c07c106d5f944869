# Session 17, run 1 (H200): the wgmma split-K sum in registers (probe part
# split: A/B against the start of session 17, plans forced), then the wgmma
# GPU tests on the new source.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 330 python3 notes/probe_s17.py split > $OUT/probe_split.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_split.txt
timeout 150 python3 -m pytest tests/test_matmul.py -q -p no:cacheprovider -rs -k "wgmma" > $OUT/t_wgmma.txt 2>&1; echo "wgmma tests rc=$?"; tail -1 $OUT/t_wgmma.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_wgmma.txt
