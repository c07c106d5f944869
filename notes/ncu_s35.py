"""Session 35 (H200): one launch of each matrix-vector configuration below
inside a profiler range, for Nsight Compute:

    ncu --profile-from-start off --kernel-name regex:mv_tc --section ... python3 notes/ncu_s35.py

Configurations (label, N, K, M, x dtype, knobs):
- m8f16_*: float16 x, M = 8 ("_xsqc" by default);
- m8f32_*: float32 x, M = 8 (the xprep kernel's parts, two column tiles);
- m1_13312 / m1_14336: float16 x, M = 1 on "_xsq1" (MV_ONE_ROW_COPY_FILL_BAND
  (0, 0)), the two row counts between which its time jumps 1.1-1.3 us
  (notes/h200_s34 run 2);
- m1_128256: float16 x, M = 1, default.
Each is called twice first (compile, plan), then once in the range. The
launch ncu sees is printed with its grid.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")

CONFIGS = [
    ("m8f16_14336", 14336, 4096, 8, "float16", {}),
    ("m8f16_128256", 128256, 4096, 8, "float16", {}),
    ("m8f32_14336", 14336, 4096, 8, "float32", {}),
    ("m8f32_128256", 128256, 4096, 8, "float32", {}),
    ("m1_13312", 13312, 4096, 1, "float16", {"MV_ONE_ROW_COPY_FILL_BAND": (0, 0)}),
    ("m1_14336", 14336, 4096, 1, "float16", {"MV_ONE_ROW_COPY_FILL_BAND": (0, 0)}),
    ("m1_128256", 128256, 4096, 1, "float16", {}),
]


def main():
    import cupy as cp

    import cupyquant.qmatmul as mm
    from cupyquant.qmatmul import matmul
    from test_bench_matmul import random_q4_0_device
    sys.path.insert(0, "notes")
    from probe_util import launch_spy
    launched = launch_spy(mm)
    only = set(sys.argv[1:])
    for label, n, k, m, xd, knobs in CONFIGS:
        if only and label not in only:
            continue
        defaults = {name: getattr(mm, name) for name in knobs}
        for name, value in knobs.items():
            setattr(mm, name, value)
        mm._mv_plans.clear()
        w = random_q4_0_device(n, k, seed=1)
        x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(xd)
        for _ in range(2):
            matmul(x, w)
        cp.cuda.Device().synchronize()
        cp.cuda.runtime.profilerStart()
        matmul(x, w)
        cp.cuda.Device().synchronize()
        cp.cuda.runtime.profilerStop()
        print(f"{label}: {launched['k'][0]} grid {launched['k'][1]}", flush=True)
        for name, value in defaults.items():
            setattr(mm, name, value)
        mm._mv_plans.clear()
        del w


if __name__ == "__main__":
    main()
