python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 -m pytest tests/test_gpu_dequant.py tests/test_gpu_loader.py -q -p no:cacheprovider > $OUT/t.txt 2>&1; echo "gpu dequant+loader tests rc=$?"; tail -1 $OUT/t.txt; grep -m5 ^FAILED $OUT/t.txt
timeout 40 python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -p no:cacheprovider --benchmark-json=$OUT/dequant.json > /dev/null 2>&1; echo "bench rc=$?"
python3 -c "
import json,os
rows={}
for b in json.load(open(os.environ['OUT']+'/dequant.json'))['benchmarks']:
    e=b['extra_info']; rows.setdefault(e['format'],{})[e['dtype']]=e
print('copy GB/s', round(next(iter(rows.values()))['float16']['copy_gbps']))
for f,r in rows.items(): print(f\"| {f} | {r['float16']['kernel_us']:.1f} | {r['float16']['ratio_to_copy']:.2f} | {r['float32']['kernel_us']:.1f} | {r['float32']['ratio_to_copy']:.2f} |\")
"
