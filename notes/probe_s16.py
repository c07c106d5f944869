"""Device probe, session 16 (H200).

    PYTHONPATH=. python notes/probe_s16.py wg     # wgmma pipeline A/B

Part "wg": the wgmma kernel as submitted at the start of session 16 (x by TMA,
weights by cp.async from every thread, a thread-block barrier a stage:
notes/s16_base_sm90.cu, the concatenated source of commit 2f18ec6, written
before the run and not kept: common.h, q4_0_mm_common.hip and
q4_0_matmul_sm90.hip of that commit joined by newlines, as
matmul_kernels.matmul_sm90_source joins them) against
the new one (x and weights by TMA from thread 0, full / empty mbarriers a
slot and no thread-block barrier in the loop; one lop3 a weight register
pair), its cp.async fallback (WGMMA_TMA = False), the new one with a ring of
5 x slots (3 stages ahead) and 256-wide blocks split in two over K for the
4096-row shapes. Times in us (x cuBLAS float16 in the same run).
"""
import os
import sys

import cupy as cp
import numpy as np

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab  # noqa: E402

part = sys.argv[1]

if part == "wg":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    plain = dict(src=mk.matmul_sm90_source, key=mk.SM90_MODULE_KEY, stages=mk.WGMMA_STAGES,
                 maps=mm._tensor_maps, plan=mm._wgmma_plan, tma=mm.WGMMA_TMA)
    base_src = open("notes/s16_base_sm90.cu").read()
    new_src = mk.matmul_sm90_source()

    def setting(src=None, key="", stages=4, one_map=False, tma=True, plan=None):
        def apply():
            mk.matmul_sm90_source = (lambda: src) if src is not None else plain["src"]
            mk.SM90_MODULE_KEY = plain["key"] + key
            mk.WGMMA_STAGES = stages
            mm._tensor_maps = (lambda *a: plain["maps"](*a)[:1]) if one_map else plain["maps"]
            mm.WGMMA_TMA = tma
            mm._wgmma_plan = plan or plain["plan"]
        return apply

    def wide_split(M, N, K, sms):
        if N == 4096 and M >= 384:
            return 256, 2, -(-(K // 64) // 2)
        return plain["plan"](M, N, K, sms)

    SET = {"base": setting(base_src, ":base", one_map=True),
           "new": setting(),
           "cpasync": setting(tma=False),
           "st5": setting("#define CQ_WG_STAGES 5\n" + new_src, ":st5", stages=5),
           "new_w256s2": setting(plan=wide_split)}
    # bit-identity and accuracy of every variant, compiling each module once
    q, _ = bench.weights((4096, 4096))
    x = cp.random.standard_normal((600, 4096), dtype=cp.float32).astype(cp.float16)
    ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
    outs = {}
    for name, apply in SET.items():
        apply()
        try:
            outs[name] = mm.matmul(x, q[0], path="wgmma")
            cp.cuda.Device().synchronize()
            err = float(cp.linalg.norm(outs[name].astype(cp.float64) - ref) / cp.linalg.norm(ref))
            same = bool((outs[name] == outs["base"]).all()) if "base" in outs else None
            print(f"{name}: rel err {err:.2e}, bit-identical to base: {same}", flush=True)
        except Exception as exc:
            print(f"{name}: FAILED {type(exc).__name__}: {exc}", flush=True)
    for shape in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]:
        for m, xd in [(512, "float16"), (512, "float32"), (1000, "float16"), (64, "float16"), (17, "float16")]:
            tb, _ = bench.cublas_time(shape, m)

            def f(shape=shape, m=m, xd=xd, tb=tb):
                r, _ = bench.measure(shape, m, xd, "wgmma")
                return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]} plan {plain['plan'](m, *shape, 132)}", f, SET)
    setting()()

if part == "wg2":
    # Run 3: on the new pipeline, host knobs and the 64-row blocks' ring depth.
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    plain_src, plain_key = mk.matmul_sm90_source, mk.SM90_MODULE_KEY

    def setting(n64=4, l2=256, wide_min_m=0):
        src = plain_src() if n64 == 4 else f"#define CQ_WG_STAGES_N64 {n64}\n" + plain_src()

        def apply():
            mk.matmul_sm90_source = lambda: src
            mk.SM90_MODULE_KEY = plain_key + ("" if n64 == 4 else f":n64st{n64}")
            mk.WGMMA_STAGES_N64 = n64
            mm.WGMMA_W_L2_PROMOTION = l2
            mm.WGMMA_WIDE_MIN_M = wide_min_m
        return apply
    SET = {"new": setting(), "l2_128": setting(l2=128), "l2_0": setting(l2=0), "n64st5": setting(n64=5),
           "n64st6": setting(n64=6), "fitM": setting(wide_min_m=128), "new'": setting()}
    q, _ = bench.weights((14336, 4096))
    x = cp.random.standard_normal((64, 4096), dtype=cp.float32).astype(cp.float16)
    ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
    first = None
    for name, apply in SET.items():  # compile each module once; accuracy and bits
        apply()
        y = mm.matmul(x, q[0], path="wgmma")
        err = float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref))
        first = y if first is None else first
        print(f"{name}: plan {mm._wgmma_plan(64, 14336, 4096, 132)} rel err {err:.2e}, "
              f"bit-identical to new: {bool((y == first).all())}", flush=True)
    rows = [((n, k), m) for n, k in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)] for m in [512]]
    rows += [((n, k), m) for n, k in [(14336, 4096), (4096, 14336), (128256, 4096)] for m in [17, 64]]
    rows += [((128256, 4096), 100), ((14336, 4096), 100)]
    for shape, m in rows:
        tb, _ = bench.cublas_time(shape, m)

        def f(shape=shape, m=m, tb=tb):
            r, _ = bench.measure(shape, m, "float16", "wgmma")
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} f16 plan {mm._wgmma_plan(m, *shape, 132)}", f, SET)
    setting()()

if part == "wg3":
    # Run 9: the weights asked for 4 stages ahead (at stage 4G - 4) instead of
    # with the x of stage 4G (2 ahead): notes/s16_prev_sm90.cu is the module
    # source before this change (the sm90 files of the commit before
    # this change joined as matmul_sm90_source joins them; not kept).
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    plain_src, plain_key = mk.matmul_sm90_source, mk.SM90_MODULE_KEY
    prev = open("notes/s16_prev_sm90.cu").read()

    def setting(src, key):
        def apply():
            mk.matmul_sm90_source = (lambda: src) if src else plain_src
            mk.SM90_MODULE_KEY = plain_key + key
        return apply
    SET = {"prev": setting(prev, ":prev"), "lead4": setting(None, ""), "prev'": setting(prev, ":prev"),
           "lead4'": setting(None, "")}
    q, _ = bench.weights((4096, 4096))
    x = cp.random.standard_normal((600, 4096), dtype=cp.float32).astype(cp.float16)
    outs = {}
    for name, apply in SET.items():
        apply()
        outs[name] = mm.matmul(x, q[0], path="wgmma")
        print(name, "bit-identical to prev:", bool((outs[name] == outs["prev"]).all()), flush=True)
    for shape, m in [((4096, 4096), 512), ((14336, 4096), 512), ((4096, 14336), 512), ((128256, 4096), 512),
                     ((4096, 4096), 1000), ((4096, 14336), 64), ((128256, 4096), 64)]:
        tb, _ = bench.cublas_time(shape, m)

        def f(shape=shape, m=m, tb=tb):
            r, _ = bench.measure(shape, m, "float16", "wgmma")
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} f16 plan {mm._wgmma_plan(m, *shape, 132)}", f, SET)
    setting(None, "")()
