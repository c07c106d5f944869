"""Markdown rows (format | float16 us | ratio | float32 us | ratio) from the
JSON that `pytest benchmarks/test_bench_gpu_dequant.py --benchmark-json=FILE` writes."""
import json
import sys

rows = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    e = b["extra_info"]
    rows.setdefault(e["format"], {})[e["dtype"]] = e
first = next(iter(rows.values()))["float16"]
print("copy GB/s", round(first["copy_gbps"]), first["timing"])
for f, r in rows.items():
    print(f"| {f} | {r['float16']['kernel_us']:.1f} | {r['float16']['ratio_to_copy']:.2f} "
          f"| {r['float32']['kernel_us']:.1f} | {r['float32']['ratio_to_copy']:.2f} |")
