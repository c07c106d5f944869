"""Session 14: compute-sanitizer memcheck of the wgmma matrix-matrix kernels:
edge tiles (N, M not multiples of the thread-block tiles), one weight row,
both widths, split-K, every output dtype; weights exactly as large as they must be
(no slack after the last row), so that any read past them is caught.

    compute-sanitizer --tool memcheck python3 notes/sanitize_s14.py
"""
import cupy as cp
import numpy as np

import sys

import cupyquant.qmatmul as mm
from cupyquant import FORMATS, QuantizedTensor

sys.path.insert(0, "tests")
from test_matmul import random_q4_0  # noqa: E402

Q4_0 = FORMATS["Q4_0"]
rng = np.random.default_rng(5)
for n, k, m in [(1, 256, 1), (130, 512, 200), (257, 1024, 513), (128, 14336, 17)]:
    raw = random_q4_0(rng, n, k)
    w = QuantizedTensor("Q4_0", (n, k), cp.asarray(raw))  # exactly n rows: no slack after them
    w64 = Q4_0.decode(raw).reshape(n, k).astype(np.float64)
    x = rng.standard_normal((m, k)).astype(np.float16)
    ref = x.astype(np.float64) @ w64.T
    for width, split in [(128, False), (128, True), (256, False)]:
        mm.WGMMA_WIDE_MIN_ROUNDS = 0 if width == 256 else float("inf")
        mm.WGMMA_SPLIT_BLOCKS_PER_SM, mm.WGMMA_MIN_STAGES_PER_SPLIT = (1e9, 4) if split else (0, 16)
        for od in ("float32", "float16", "bfloat16"):
            out = cp.full((m, n), cp.nan, dtype=od)
            mm.matmul(cp.asarray(x), w, out=out, path="wgmma")
            y = cp.asnumpy(out.astype(cp.float32)).astype(np.float64)
            err = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
            ok = np.isfinite(y).all() and err <= (1e-2 if od == "bfloat16" else 2e-3)
            plan = mm._wgmma_plan(m, n, k, 132)
            print(f"N={n} K={k} M={m} width {width} plan {plan} {od}: rel err {err:.1e} {'ok' if ok else 'BAD'}",
                  flush=True)
