"""Top stall lines of an ncu source page (CSV, `ncu -i R --page source --csv
--print-source sass`, optionally gzipped): total samples, the stall reasons
summed over the kernel, and the SASS lines with the most samples.

    python3 notes/ncu_sass_top.py notes/h200_s13/run7/ncu_mv_4096x14336_sass.csv.gz
"""
import csv
import gzip
import io
import sys

for path in sys.argv[1:]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        lines = f.read().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith('"Address"'))
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[start:]))))
    samples = lambda r: int(r["Warp Stall Sampling (All Samples)"] or 0)  # noqa: E731
    stalls = [k for k in rows[0] if k.startswith("stall_") and "Not Issued" not in k]
    print(f"{path}: {sum(map(samples, rows))} samples, "
          f"{sum(int(r['Instructions Executed'] or 0) for r in rows)} warp instructions, {len(rows)} SASS lines")
    total = {k[6:]: sum(int(r[k] or 0) for r in rows) for k in stalls}
    print("  stalls: " + ", ".join(f"{k} {v}" for k, v in sorted(total.items(), key=lambda kv: -kv[1]) if v))
    for r in sorted(rows, key=samples, reverse=True)[:15]:
        top = sorted(((int(r[k] or 0), k[6:]) for k in stalls), reverse=True)[:2]
        print(f"  {samples(r):5d} samples {int(r['Instructions Executed'] or 0):7d} executed  "
              f"{r['Source'].strip()[:58]:58s} {top}")
