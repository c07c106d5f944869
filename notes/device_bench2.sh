python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 100 python3 -m pytest tests/test_gpu_dequant.py -q -p no:cacheprovider > $OUT/tests.txt 2>&1; echo "gpu dequant tests rc=$?"; tail -1 $OUT/tests.txt
timeout 240 python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -p no:cacheprovider --benchmark-json=$OUT/dequant.json > $OUT/dequant_bench.txt 2>&1; echo "dequant bench rc=$?"
python3 - <<'PY'
import json,os
d=json.load(open(os.environ['OUT']+'/dequant.json'))
rows={}
for b in d['benchmarks']:
    e=b['extra_info']; rows.setdefault(e['format'],{})[e['dtype']]=e
print("copy GB/s", round(next(iter(rows.values()))['float16']['copy_gbps']))
for f,r in rows.items():
    print(f"{f:8s} " + "  ".join(f"{dt}: {e['kernel_us']:7.1f}us {e['gbps']:5.0f}GB/s {e['ratio_to_copy']:.2f}" for dt,e in sorted(r.items())))
PY

