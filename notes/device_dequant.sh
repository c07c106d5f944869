# Device: every GPU dequantization test, then the dequantization benchmark (table printed last).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
timeout 200 python3 -m pytest tests/test_gpu_dequant.py -q -p no:cacheprovider -rs > $OUT/t_dequant.txt 2>&1; echo "gpu dequant tests rc=$?"; tail -2 $OUT/t_dequant.txt; grep -m8 ^FAILED $OUT/t_dequant.txt
timeout 300 python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -p no:cacheprovider --benchmark-json=$OUT/dequant.json > $OUT/bench_dequant.txt 2>&1; echo "dequant bench rc=$?"
python3 - <<'PY'
import json,os
rows={}
for b in json.load(open(os.environ['OUT']+'/dequant.json'))['benchmarks']:
    e=b['extra_info']; rows.setdefault(e['format'],{})[e['dtype']]=e
print("copy GB/s", round(next(iter(rows.values()))['float16']['copy_gbps']), next(iter(rows.values()))['float16']['timing'])
for f,r in rows.items():
    print(f"| {f} | {r['float16']['kernel_us']:.1f} | {r['float16']['ratio_to_copy']:.2f} | {r['float32']['kernel_us']:.1f} | {r['float32']['ratio_to_copy']:.2f} |")
PY
