"""Device probe, session 8 (H200): matrix-vector geometries of the tensor-core
kernel (cheaper exact nibble decode), ncu counts, and a per-decoder
launch-bound / unroll sweep of the dequantization kernels below 0.90 of the copy.
Runs 1 and 2 of this session used an earlier version of this script with a
stream-K kernel, since removed (see notes/h200_s8/README.md); "dq" compares
against the previous commit's K-quant source when notes/_ab_old_sources.json
exists (run 4 wrote it from `git stash`).

    PYTHONPATH=. python notes/probe_s8.py mv|dq|ncu [formats...]
"""
import os
import sys

import cupy as cp
import numpy as np

sys.path.insert(0, "benchmarks")
from gpu_timing import copy_bandwidth  # noqa: E402

import cupyquant.qmatmul as mm  # noqa: E402
import cupyquant.matmul_kernels as mk  # noqa: E402
from cupyquant import FORMATS, QuantizedTensor  # noqa: E402

part = sys.argv[1]
FULL_SOURCE = mk.matmul_source()
FULL_KEY = mk.MODULE_KEY
INST = "CQ_MATMUL_FOR_OUT(f32, float)\nCQ_MATMUL_FOR_OUT(f16, cq_f16)\nCQ_MATMUL_FOR_OUT(bf16, cq_bf16)"
assert INST in FULL_SOURCE

# Matrix-vector geometries (rows a thread block, blocks a stage, stages) and
# MV_BLOCKS_PER_SM (K split for few row tiles). "A" was the compiled default in
# run 3; "B" is since.
TC_VARIANTS = {
    "A": ((16, 32, 4), 0.5),
    "A1": ((16, 32, 4), 1.0),
    "B": ((16, 64, 3), 0.5),
    "C": ((32, 32, 3), 0.5),
    "D": ((16, 32, 6), 0.5),
    "E": ((16, 16, 6), 0.5),
}


def variant_source(geos):
    inst = []
    for on, ot in (("f16", "cq_f16"), ("f32", "float")):
        inst += [f"CQ_MV_TC_GEOM({on}, {ot}, {rt}, {kb}, {st})" for rt, kb, st in geos]
    return FULL_SOURCE.replace(INST, "\n".join(inst))


VARIANT_SOURCE = variant_source(sorted({g for g, _ in TC_VARIANTS.values()}))


def set_variant(v):
    geo, per_sm = TC_VARIANTS[v]
    mm.MV_GEOMETRY = geo
    mm.MV_BLOCKS_PER_SM = per_sm
    mk.matmul_source = lambda: VARIANT_SOURCE
    mk.MODULE_KEY = FULL_KEY + ":probe"


def accuracy(v):
    """Largest relative error against float64 over a few odd shapes."""
    set_variant(v)
    worst = 0.0
    rng = cp.random.RandomState(5)
    for n, k, m in [(4133, 4096, 1), (1000, 1024, 1), (130, 288, 1), (4133, 512, 8), (20000, 512, 3)]:
        raw = rng.randint(0, 256, size=n * k // 32 * 18, dtype=cp.int32).astype(cp.uint8).reshape(-1, 18)
        raw[:, :2] = (rng.standard_normal(raw.shape[0], dtype=cp.float32) * 0.02).astype(cp.float16) \
            .view(cp.uint8).reshape(-1, 2)
        w = QuantizedTensor("Q4_0", (n, k), raw.reshape(-1))
        w64 = FORMATS["Q4_0"].dequant(w.data, dtype="float32").astype(cp.float64).reshape(n, k)
        for xd in ("float16", "float32"):
            x = rng.standard_normal((m, k), dtype=cp.float32).astype(xd)
            out = cp.full((m, n), cp.nan, dtype=cp.float32)
            mm.matmul(x, w, out=out, path="matvec")
            ref = x.astype(cp.float64) @ w64.T
            err = float(cp.linalg.norm(out - ref) / cp.linalg.norm(ref))
            worst = max(worst, err if np.isfinite(err) else 1.0)
    return worst


if part == "mv":
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    variants = list(TC_VARIANTS)
    for v in variants:
        try:
            print(f"accuracy {v}: {accuracy(v):.2e}", flush=True)
        except Exception as exc:
            print(f"accuracy {v}: FAILED {type(exc).__name__}: {exc}", flush=True)
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]
    for shape in shapes:
        for m, xd, vs in [(1, "float16", variants), (1, "float32", variants[:3]),
                          (8, "float16", variants[:3]), (8, "float32", variants[:3])]:
            row = []
            for v in vs:
                set_variant(v)
                try:
                    r, _ = bench.measure(shape, m, xd, "matvec")
                    row.append(f"{r['time_us']:7.2f} {100*r['frac_copy']:4.1f}%")
                except Exception as exc:
                    row.append(f"FAILED {type(exc).__name__}: {str(exc)[:60]}")
            print(f"{shape[0]}x{shape[1]} M={m} {xd}: " + " | ".join(f"{v} {c}" for v, c in zip(vs, row)),
                  flush=True)

if part == "ncu":
    from test_bench_matmul import random_q4_0_device
    set_variant(sys.argv[2] if len(sys.argv) > 2 else "A")
    cp.cuda.Device().synchronize()
    w = random_q4_0_device(14336, 4096, 0)
    x = cp.random.standard_normal((1, 4096), dtype=cp.float32).astype(cp.float16)
    for _ in range(8):
        mm.matmul(x, w, path="matvec")
    cp.cuda.Device().synchronize()

if part == "dq":
    sys.path.insert(0, "notes")
    import dequant_variants
    ceil = copy_bandwidth(cp)
    print(f"copy {ceil/1e9:.0f} GB/s", flush=True)
    # run 1: launch bounds / unroll overrides of the shipped source; run 4: the
    # previous commit's K-quant source ("old", scales inline) against this one.
    old_src = {}
    if os.path.exists("notes/_ab_old_sources.json"):
        import json
        old_src = json.load(open("notes/_ab_old_sources.json"))
    variants = {"shipped": ()} if old_src else {
        "shipped": (), "mb4": ("-DCQ_TUNE_MIN_BLOCKS=4",), "mb3": ("-DCQ_TUNE_MIN_BLOCKS=3",),
        "du2": ("-DCQ_TUNE_DECODE_UNROLL=2",), "du4": ("-DCQ_TUNE_DECODE_UNROLL=4",),
        "mb4du2": ("-DCQ_TUNE_MIN_BLOCKS=4", "-DCQ_TUNE_DECODE_UNROLL=2"),
        "mb4du4": ("-DCQ_TUNE_MIN_BLOCKS=4", "-DCQ_TUNE_DECODE_UNROLL=4")}
    if old_src:
        variants["old"] = ()
    if os.environ.get("PROBE_VARIANTS"):  # session 9: tuning overrides next to the old skeleton
        every = {"shipped": (), "mb2": ("-DCQ_TUNE_MIN_BLOCKS=2",), "mb3": ("-DCQ_TUNE_MIN_BLOCKS=3",),
                 "mb4": ("-DCQ_TUNE_MIN_BLOCKS=4",), "du2": ("-DCQ_TUNE_DECODE_UNROLL=2",),
                 "du4": ("-DCQ_TUNE_DECODE_UNROLL=4",), "old": ()}
        variants = {v: every[v] for v in os.environ["PROBE_VARIANTS"].split(",")}
    names = sys.argv[2:] or ["Q3_K", "Q4_K", "Q5_K", "Q6_K", "TQ1_0", "MXFP4", "NVFP4", "IQ1_M", "IQ2_XXS"]
    dequant_variants.print_table(cp, ceil, names, variants, os.environ.get("PROBE_DTYPES", "float16").split(","),
                                 sources={"old": old_src}, strict=False)
