"""Session 18 (from notes/sanitize_s17.py, with the one-warpgroup blocks of 64
weight rows x 256 activation rows, one warpgroup ("256r64") or two taking
turns over K ("256r64x2", TMA only: cp.async runs the first), unsplit and
split over K, x as 64-row boxes; the
session-17 script had 256-row blocks split over K and the split-K sum that
reads float4 groups where N is a multiple of 4): compute-sanitizer memcheck of the wgmma kernels with x and the
weights through TMA tensor maps or cp.async, widths 64 / 128 / 256, split-K; and of the
matrix-vector kernel on a full grid under PDL (CQ_MV_EARLY: the prefetch before
the wait). Weights exactly as large as they must be (no slack after the last
row), so that any read past them is caught.

    compute-sanitizer --tool memcheck python3 notes/sanitize_s18.py
"""
import sys

import cupy as cp
import numpy as np

import cupyquant.qmatmul as mm
from cupyquant import FORMATS, QuantizedTensor

sys.path.insert(0, "tests")
from test_matmul import random_q4_0  # noqa: E402

Q4_0 = FORMATS["Q4_0"]
plain_plan = mm._wgmma_plan
plain_choice = mm._wgmma_choice
mm.WGMMA_R64 = False  # the 64-row blocks only where forced below
mm.WGMMA_WIDE_MAX_EXTRA_ROWS = 1 << 30  # 256-row blocks for any M where asked for
rng = np.random.default_rng(6)
for n, k, m in [(1, 256, 1), (130, 512, 200), (257, 1024, 513), (128, 14336, 17), (200, 768, 70)]:
    raw = random_q4_0(rng, n, k)
    w = QuantizedTensor("Q4_0", (n, k), cp.asarray(raw))  # exactly n rows: no slack after them
    w64 = Q4_0.decode(raw).reshape(n, k).astype(np.float64)
    x = rng.standard_normal((m, k)).astype(np.float16)
    ref = x.astype(np.float64) @ w64.T
    for width, split in [(64, False), (64, True), (128, False), (128, True), (256, False), (256, True),
                         ("256r64", False), ("256r64", True), ("256r64x2", False), ("256r64x2", True)]:
        mm.WGMMA_WIDE_MIN_ROUNDS = 0 if width == 256 and not split else float("inf")
        mm.WGMMA_NARROW_MAX_M = 1 << 30 if width == 64 else 0
        mm.WGMMA_SPLIT_BLOCKS_PER_SM, mm.WGMMA_MIN_STAGES_PER_SPLIT = (1e9, 4) if split else (0, 16)
        mm.WGMMA_SPLIT_MAX_BLOCKS_PER_SM = mm.WGMMA_SPLIT_MAX_BLOCKS_PER_SM_N64 = 1e9
        mm.WGMMA_WIDE_SPLIT_MIN_K = float("inf")
        mm._wgmma_plan = plain_plan
        if width == 256 and split:  # 256-row blocks, as many splits as K has groups of 4 stages
            mm._wgmma_plan = lambda M, N, K, sms: (256,) + mm._wgmma_split(K // 256, 1 << 30)
        mm._wgmma_choice = plain_choice
        mm.WGMMA_R64_WARPGROUPS = 2 if width == "256r64x2" else 1
        if width in ("256r64", "256r64x2"):  # 64 weight rows x 256 activation rows, split as above or not
            mm._wgmma_choice = (lambda M, N, K, sms: (64, 256) + mm._wgmma_split(K // 256, 1 << 30)) if split \
                else (lambda M, N, K, sms: (64, 256, 1, K // 64))
        for tma in (True, False):
            mm.WGMMA_TMA = tma
            for od in ("float32", "float16", "bfloat16") if tma else ("float32",):
                out = cp.full((m, n), cp.nan, dtype=od)
                mm.matmul(cp.asarray(x), w, out=out, path="wgmma")
                y = cp.asnumpy(out.astype(cp.float32)).astype(np.float64)
                err = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
                ok = np.isfinite(y).all() and err <= (1e-2 if od == "bfloat16" else 2e-3)
                plan = mm._wgmma_choice(m, n, k, 132)
                print(f"N={n} K={k} M={m} width {width} plan {plan} tma {tma} {od}: rel err {err:.1e} "
                      f"{'ok' if ok else 'BAD'}", flush=True)

# The tail launch (WGMMA_TAIL): 8 SMs faked, so that 33 weight tiles x 3
# activation tiles of 256 rows leave a last wave of 3 blocks, split over K in
# a launch of its own on a column slice of y; N - 4096 = 37 / 36 (the sums'
# scalar and float4 paths), weights with no slack.
mm._wgmma_plan = plain_plan
mm._wgmma_choice = plain_choice
mm.WGMMA_SPLIT_BLOCKS_PER_SM, mm.WGMMA_MIN_STAGES_PER_SPLIT = 2.0, 4
mm.WGMMA_WIDE_MIN_ROUNDS, mm.WGMMA_WIDE_SPLIT_MIN_K = 0, float("inf")
real_info = mm.device_info
mm.device_info = lambda dev: dict(real_info(dev), sm_count=8)
for n in (4096 + 37, 4096 + 36):
    k, m = 4096, 600
    raw = random_q4_0(rng, n, k)
    w = QuantizedTensor("Q4_0", (n, k), cp.asarray(raw))
    w64 = Q4_0.decode(raw).reshape(n, k).astype(np.float64)
    x = rng.standard_normal((m, k)).astype(np.float16)
    ref = x.astype(np.float64) @ w64.T
    for tma in (True, False):
        mm.WGMMA_TMA = tma
        out = cp.full((m, n), cp.nan, dtype=cp.float32)
        mm.matmul(cp.asarray(x), w, out=out, path="wgmma")
        y = cp.asnumpy(out).astype(np.float64)
        err = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
        ok = np.isfinite(y).all() and err <= 2e-3
        print(f"tail N={n} K={k} M={m} rows {mm._wgmma_tail(m, n, 256, 8)} + rest split, tma {tma}: "
              f"rel err {err:.1e} {'ok' if ok else 'BAD'}", flush=True)
mm.device_info = real_info

# Matrix-vector, a full grid launched with PDL: CQ_MV_EARLY set.
mm.MATVEC_PDL = "always"
calls = []
real = mm.launch


def spy(kern, grid, block, args, **kw):
    if len(args) == 13:
        calls.append(int(args[9]) & mm.MV_EARLY)
    return real(kern, grid, block, args, **kw)


mm.launch = spy
for n, k, m, xd in [(11264, 4096, 1, "float16"), (11264, 4096, 1, "float32"), (11264, 4096, 8, "float16")]:
    raw = random_q4_0(rng, n, k)
    w = QuantizedTensor("Q4_0", (n, k), cp.asarray(raw))
    w64 = Q4_0.decode(raw).reshape(n, k).astype(np.float64)
    x = rng.standard_normal((m, k)).astype(xd)
    ref = x.astype(np.float64) @ w64.T
    for _ in range(2):  # the second product's thread blocks are scheduled early
        y = cp.asnumpy(mm.matmul(cp.asarray(x), w, path="matvec").astype(cp.float32)).astype(np.float64)
    err = float(np.linalg.norm(y - ref) / np.linalg.norm(ref))
    ok = np.isfinite(y).all() and err <= (2e-3 if xd == "float16" else 1e-5) and calls[-1]
    print(f"matvec N={n} K={k} M={m} {xd} early {bool(calls[-1])}: rel err {err:.1e} {'ok' if ok else 'BAD'}",
          flush=True)
