"""Device probe, session 10 (H200).

    PYTHONPATH=. python notes/probe_s10.py mv      # matrix-vector A/B: old kernel vs new staging, geometries
    PYTHONPATH=. python notes/probe_s10.py dq F... # dequant: streaming stores, grid size, tile size

"mv" compares the float16 tensor-core matrix-vector kernel of the previous
commit ("old", notes/_ab_old_matmul.json, written from `git show HEAD:`)
with the working tree's (cheaper cp.async staging; "xs": activations first
copied into shared memory), over geometries and MV_BLOCKS_PER_SM, on the
benchmark shapes, after an accuracy check of each.
"""
import json
import os
import sys

import cupy as cp
import numpy as np

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from gpu_timing import copy_bandwidth  # noqa: E402

import cupyquant.matmul_kernels as mk  # noqa: E402
import cupyquant.qmatmul as mm  # noqa: E402
from cupyquant import FORMATS, QuantizedTensor  # noqa: E402

part = sys.argv[1]
NEW_SOURCE = mk.matmul_source()
KEY = mk.MODULE_KEY
OLD_SOURCE = json.load(open("notes/_ab_old_matmul.json"))["matmul"] if os.path.exists(
    "notes/_ab_old_matmul.json") else None
EXTRA_GEOS = [(16, 32, 4), (16, 64, 2), (16, 32, 3), (16, 32, 2)]
NEW_PLUS = NEW_SOURCE + "\n".join(f"CQ_MV_TC_GEOM({on}, {ot}, {rt}, {kb}, {st})"
                                  for on, ot in (("f16", "cq_f16"), ("f32", "float"))
                                  for rt, kb, st in EXTRA_GEOS) + "\n"

XS = 32 << 10
XS_DEFAULT = dict(mm.MV_X_SHARED_MAX)
XL = 96 << 10
# name -> (source, geometry, MV_BLOCKS_PER_SM, MV_X_SHARED_MAX)
VARIANTS = {
    "old": (OLD_SOURCE, (16, 64, 3), 0.5, 0),
    "new": (NEW_PLUS, (16, 64, 3), 0.5, 0),
    "new_bps1": (NEW_PLUS, (16, 64, 3), 1.0, 0),
    "new_k32s4": (NEW_PLUS, (16, 32, 4), 0.5, 0),
    "new_k64s2": (NEW_PLUS, (16, 64, 2), 0.5, 0),
    "new_k32s3": (NEW_PLUS, (16, 32, 3), 0.5, 0),
    "new_xs": (NEW_PLUS, (16, 64, 3), 0.5, XS),
    "new_xs_k64s2": (NEW_PLUS, (16, 64, 2), 0.5, XS),
    "new_xs_k32s4": (NEW_PLUS, (16, 32, 4), 0.5, XS),
    # run 2
    "xl_k64s2": (NEW_PLUS, (16, 64, 2), 0.5, XL),
    "xl_k32s2": (NEW_PLUS, (16, 32, 2), 0.5, XL),
    "xl_k32s3": (NEW_PLUS, (16, 32, 3), 0.5, XL),
    "xl_k64s2_bps2": (NEW_PLUS, (16, 64, 2), 2.0, XL),
    "xl_k32s2_bps2": (NEW_PLUS, (16, 32, 2), 2.0, XL),
    "xl_k64s2_bps3": (NEW_PLUS, (16, 64, 2), 3.0, XL),
    # run 3: the submitted choice (persistent x_shared kernels) against no x_shared
    "auto": (NEW_SOURCE, None, 0.5, None),
    "auto_noxs": (NEW_SOURCE, None, 0.5, 0),
    # run 4: the previous commit's kernels (notes/_ab_old_matmul.json) with this host code
    "old_head": (OLD_SOURCE, None, 0.5, None),
}
if os.environ.get("PROBE_MV"):
    VARIANTS = {v: VARIANTS[v] for v in os.environ["PROBE_MV"].split(",")}


def set_variant(v):
    src, geo, per_sm, xs = VARIANTS[v]
    mm.MV_GEOMETRY = geo
    mm.MV_BLOCKS_PER_SM = per_sm
    mm.MV_X_SHARED_MAX = dict(XS_DEFAULT) if xs is None else {"float16": xs, "float32": xs}
    mk.matmul_source = lambda: src
    mk.MODULE_KEY = f"{KEY}:probe:{v}"


def accuracy(v):
    """Largest relative error against float64 over odd shapes, both x dtypes."""
    set_variant(v)
    worst = 0.0
    rng = cp.random.RandomState(5)
    for n, k, m in [(4133, 4096, 1), (1000, 1024, 1), (130, 288, 1), (4133, 512, 8), (20000, 512, 3),
                    (333, 14336, 2), (4096, 2080, 16)]:
        raw = rng.randint(0, 256, size=n * k // 32 * 18, dtype=cp.int32).astype(cp.uint8).reshape(-1, 18)
        raw[:, :2] = (rng.standard_normal(raw.shape[0], dtype=cp.float32) * 0.02).astype(cp.float16) \
            .view(cp.uint8).reshape(-1, 2)
        w = QuantizedTensor("Q4_0", (n, k), raw.reshape(-1))
        w64 = FORMATS["Q4_0"].dequant(w.data, dtype="float32").astype(cp.float64).reshape(n, k)
        for xd in ("float16", "float32"):
            x = rng.standard_normal((m, k), dtype=cp.float32).astype(xd)
            out = cp.full((m, n), cp.nan, dtype=cp.float32)
            mm.matmul(x, w, out=out, path="matvec_f16tc")
            ref = x.astype(cp.float64) @ w64.T
            err = float(cp.linalg.norm(out - ref) / cp.linalg.norm(ref))
            worst = max(worst, err if np.isfinite(err) else 1.0)
    return worst


if part == "mv":
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    names = list(VARIANTS)
    for v in names:
        try:
            print(f"accuracy {v}: {accuracy(v):.2e}", flush=True)
        except Exception as exc:
            print(f"accuracy {v}: FAILED {type(exc).__name__}: {exc}", flush=True)
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]
    if os.environ.get("PROBE_SHAPES"):
        shapes = [tuple(int(v) for v in sh.split("x")) for sh in os.environ["PROBE_SHAPES"].split(",")]
    cases = [(1, "float16"), (1, "float32"), (8, "float16")]
    if os.environ.get("PROBE_CASES"):
        cases = [(int(c.split(":")[0]), c.split(":")[1]) for c in os.environ["PROBE_CASES"].split(",")]
    for shape in shapes:
        for m, xd in cases:
            row = []
            for v in names:
                set_variant(v)
                try:
                    r, _ = bench.measure(shape, m, xd, "matvec_f16tc")
                    row.append(f"{r['time_us']:7.2f} {100*r['frac_copy']:4.1f}%")
                except Exception as exc:
                    row.append(f"FAILED {type(exc).__name__}: {str(exc)[:60]}")
            print(f"{shape[0]}x{shape[1]} M={m} {xd}: " + " | ".join(f"{v} {c}" for v, c in zip(names, row)),
                  flush=True)

if part == "dq":
    import dequant_variants
    ceil = copy_bandwidth(cp)
    print(f"copy {ceil/1e9:.0f} GB/s", flush=True)
    every = {"shipped": (), "nocs": ("-DCQ_STREAMING_STORES=0",), "u4": ("-DCQ_UNROLL_MAX=4",),
             "g8": ((), 8), "g16": ((), 16), "g12": ((), 12), "u4g16": (("-DCQ_UNROLL_MAX=4",), 16),
             "u4g8": (("-DCQ_UNROLL_MAX=4",), 8),
             "mb4": ("-DCQ_TUNE_MIN_BLOCKS=4",), "du2": ("-DCQ_TUNE_DECODE_UNROLL=2",)}
    variants = {v: every[v] for v in os.environ.get("PROBE_VARIANTS", "shipped,nocs,u4,g8,g16").split(",")}
    names = sys.argv[2:] or ["Q4_0", "Q3_K", "Q4_K", "Q5_K", "TQ1_0", "TQ2_0", "MXFP4", "F32"]
    dequant_variants.print_table(cp, ceil, names, variants, os.environ.get("PROBE_DTYPES", "float16").split(","),
                                 strict=False)
