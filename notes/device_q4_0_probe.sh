# quick probe on the device: Q4_0 GPU correctness + dequant speed
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,clocks.sm,clocks.mem --format=csv
python3 -m pytest tests/test_gpu_dequant.py -q -x -k "Q4_0 or shape_dtype or cached or 2_31" 2>&1 | tail -15
python3 -m pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only -q -k "Q4_0 or Q8_0 or F16" --benchmark-json=$OUT/bench.json 2>&1 | tail -5
python3 - <<'PY'
import json,os
d=json.load(open(os.environ['OUT']+'/bench.json'))
for b in d['benchmarks']:
    e=b['extra_info']; print(f"{e['format']:8s} {e['dtype']:8s} {e['kernel_us']:8.1f} us {e['gbps']:7.0f} GB/s copy {e['copy_gbps']:6.0f} ratio {e['ratio_to_copy']:.3f}")
PY
