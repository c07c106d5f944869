# Session 32, run 2 (H200): probe_s32 ksplit (K split forced on the plans that keep one split).
# CuPy's kernel cache goes into the checkout (.cupy_cache, carried back next time: no recompiling).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit
export CUPY_CACHE_DIR=$PWD/.cupy_cache; mkdir -p $CUPY_CACHE_DIR; ls $CUPY_CACHE_DIR | wc -l
timeout 400 python3 notes/probe_s32.py ksplit:2 > $OUT/probe.txt 2>&1; echo "probe rc=$?"
cut -c1-400 $OUT/probe.txt
mkdir -p $OUT/cache && cp -r $CUPY_CACHE_DIR/. $OUT/cache/ && du -sh $OUT/cache
