# Final check on the submitted code: every GPU test, then the dequantization benchmark.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 300 python3 -m pytest tests/test_gpu_dequant.py tests/test_gpu_loader.py tests/test_matmul.py -q -p no:cacheprovider -rs > $OUT/tests.txt 2>&1; echo "gpu tests rc=$?"; tail -3 $OUT/tests.txt; grep ^FAILED $OUT/tests.txt | head
timeout 200 python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -p no:cacheprovider --benchmark-json=$OUT/dequant.json > /dev/null 2>&1; echo "dequant bench rc=$?"
python3 - <<'PY'
import json,os
rows={}
for b in json.load(open(os.environ['OUT']+'/dequant.json'))['benchmarks']:
    e=b['extra_info']; rows.setdefault(e['format'],{})[e['dtype']]=e
print("copy GB/s", round(next(iter(rows.values()))['float16']['copy_gbps']))
for f,r in rows.items():
    print(f"| {f} | {r['float16']['kernel_us']:.1f} | {r['float16']['ratio_to_copy']:.2f} | {r['float32']['kernel_us']:.1f} | {r['float32']['ratio_to_copy']:.2f} |")
PY
