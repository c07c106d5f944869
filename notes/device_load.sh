python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
for m in mmap pread mmap pread; do
  CUPYQUANT_LOAD_READ=$m timeout 120 python3 -m pytest benchmarks/test_bench_load.py --benchmark-only -q -s -p no:cacheprovider > $OUT/load_$m.txt 2>&1; echo "$m rc=$?"; grep -E "  load |RSS" $OUT/load_$m.txt
done
