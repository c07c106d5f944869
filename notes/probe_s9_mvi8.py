"""Session 9 probe (device): split-K fill of the int8 matrix-vector kernel
(cupyquant.qmatmul.MVI8_FILL), M = 1, float16 and float32 x, the four shapes."""
import sys
sys.path.insert(0, "benchmarks")
import cupyquant.qmatmul as mm
from test_bench_matmul import SHAPES, get_bench

bench = get_bench()
print(f"copy {bench.ceiling() / 1e9:.0f} GB/s")
for shape in SHAPES:
    for xd in ("float16",):
        row = []
        for fill in (0.5, 1.0, 2.0, 4.0):
            mm.MVI8_FILL = fill
            r, _ = bench.measure(shape, 1, xd, "matvec_int8")
            row.append(f"fill {fill}: {r['time_us']:7.2f} us {100 * r['frac_copy']:5.1f}%")
        print(f"{shape[0]}x{shape[1]} {xd}: " + " | ".join(row), flush=True)
mm.MVI8_FILL = 1.0
