# Session 19, run 6 (H200): "_xsq" against "_xs" (one module, both orders) on
# shapes the benchmark does not cover: K = 2048 (one stage a tile), 4096,
# 8192 and 14336 (seven), grids with 1-40 tiles a thread block (probe part qshapes).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 200 python3 notes/probe_s19.py qshapes > $OUT/probe_qshapes.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_qshapes.txt
