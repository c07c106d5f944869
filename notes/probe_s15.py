"""Device probe, session 15 (H200).

    PYTHONPATH=. python notes/probe_s15.py pdl      # matrix-vector: PDL trigger + L2 prefetch before the wait

Variants are the shipped kernel source with -D knobs prepended, compiled as
separate modules (a distinct MODULE_KEY each).
"""
import os
import sys
import time

import cupy as cp
import numpy as np

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from gpu_timing import copy_bandwidth, gpu_seconds_per_call  # noqa: E402,F401
from probe_util import ab  # noqa: E402

part = sys.argv[1]

SHAPES = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]


def source_variants(knobs: dict):
    """name -> apply(): the matmul module compiled with those -D lines."""
    import cupyquant.matmul_kernels as mk
    plain_source, plain_key = mk.matmul_source, mk.MODULE_KEY
    srcs = {name: "".join(f"#define {k} {v}\n" for k, v in defs.items()) + plain_source()
            for name, defs in knobs.items()}

    def variant(name):
        def apply():
            mk.matmul_source = lambda: srcs[name]
            mk.MODULE_KEY = f"{plain_key}:{name}"
        return apply

    def restore():
        mk.matmul_source, mk.MODULE_KEY = plain_source, plain_key
    return {name: variant(name) for name in knobs}, restore


# ---------------------------------------------------------------- PDL prefetch
if part == "pdl":
    # Back to back in a graph, each matrix-vector grid waits (griddepcontrol.wait)
    # at its start and is scheduled only as the previous one's thread blocks
    # exit. T1: every thread block triggers its dependents once its last weight
    # copy is issued; PFn: before the wait, a thread block asks L2 for its first
    # n weight stages (safe: a hint, L2 is coherent).
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    spec = os.environ.get("PROBE_PDL", "base=0,0;T1=1,0;T1PF1=1,1;T1PF2=1,2;PF2=0,2")
    knobs = {}
    for item in spec.split(";"):
        name, vals = item.split("=")
        t, pf = vals.split(",")
        knobs[name] = {"CQ_MV_TRIGGER": t, "CQ_MV_PF_STAGES": pf}
    SET, restore = source_variants(knobs)
    t0 = time.time()
    for name, apply in SET.items():  # compile each module once, outside the timings
        apply()
        mm.matmul(cp.ones((1, 4096), cp.float16), get_bench().weights((4096, 4096))[0][0], path="matvec")
    print(f"compiled {len(SET)} variants in {time.time() - t0:.0f} s", flush=True)
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    cells = [(1, "float16"), (1, "float32"), (8, "float16"), (2, "float32")]
    for shape in SHAPES:
        for m, xd in cells:
            def f(shape=shape, m=m, xd=xd):
                r, _ = bench.measure(shape, m, xd, "matvec")
                return f"{r['time_us']:6.2f}"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]}", f, SET)
    # Behind a kernel that does not trigger (as in a model: norm, activation):
    # one CuPy elementwise op before each product.
    for shape in [(4096, 4096), (14336, 4096)]:
        q, _ = bench.weights(shape)
        x = cp.random.standard_normal((1, shape[1]), dtype=cp.float32).astype(cp.float16)
        x2 = cp.empty_like(x)
        out = cp.empty((1, shape[0]), dtype=cp.float16)

        def f(q=q, x=x, x2=x2, out=out):
            calls = [lambda w=w: (cp.multiply(x, 1.0, out=x2), mm.matmul(x2, w, out=out, path="matvec")) for w in q]
            t, _, _ = gpu_seconds_per_call(calls)
            return f"{t * 1e6:6.2f}"
        ab(f"{shape[0]}x{shape[1]} M=1 f16 after an elementwise op (both timed)", f, SET)
    # A dependent chain captured with PDL (each product's x is the last one's
    # y) must equal the same chain run eagerly without PDL, bit for bit.
    for shape, m, xd, steps in [((4096, 4096), 1, "float16", 4), ((4096, 4096), 8, "float16", 4),
                                ((4096, 4096), 1, "float32", 6), ((4096, 4096), 2, "float32", 6),
                                ((1000, 1000 // 32 * 32), 1, "float16", 3)]:
        n, k = shape
        from test_bench_matmul import random_q4_0_device
        ws = [random_q4_0_device(k, k, seed=50 + i) for i in range(steps)]
        x0 = cp.random.standard_normal((m, k), dtype=cp.float32).astype(xd)
        res = {}
        for name, apply in SET.items():
            apply()
            mm.MATVEC_PDL = "never"
            y = x0
            for w in ws:
                y = mm.matmul(y, w, path="matvec")
            eager = y.copy()
            mm.MATVEC_PDL = "capture"
            bufs = [x0.copy()] + [cp.empty((m, k), dtype=xd) for _ in ws]
            stream = cp.cuda.Stream(non_blocking=True)
            with stream:
                for i, w in enumerate(ws):  # warm-up (plans, workspaces)
                    mm.matmul(bufs[i], w, out=bufs[i + 1], path="matvec")
                for b in bufs[1:]:
                    b.fill(np.nan)
                stream.begin_capture()
                for i, w in enumerate(ws):
                    mm.matmul(bufs[i], w, out=bufs[i + 1], path="matvec")
                g = stream.end_capture()
                g.launch(stream)
                stream.synchronize()
            res[name] = (bool((bufs[-1] == eager).all()), eager)
        first = next(iter(res.values()))[1]
        same = {name: (ok, bool((e == first).all())) for name, (ok, e) in res.items()}
        print(f"chain {shape} M={m} {xd} x{steps}: (graph==eager, ==base) {same}", flush=True)
    restore()

# ---------------------------------------------------------------- wgmma: x through TMA
if part == "tma":
    # The wgmma kernel's x copies: 8 (256 rows) or 4 (128) cp.async a thread
    # and stage, against one TMA instruction a stage (thread 0) completing on
    # an mbarrier. Same kernel otherwise; results must be bit-identical.
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)

    def tma(on, narrow=0.0):
        def apply():
            mm.WGMMA_TMA = on
            mm.WGMMA_NARROW_MAX_BLOCKS_PER_SM = narrow
        return apply
    SET = {"cpasync": tma(False), "tma": tma(True), "tma64": tma(True, 1.0), "cpasync64": tma(False, 1.0),
           "cpasync'": tma(False), "tma'": tma(True)}
    for shape in SHAPES:
        q, _ = bench.weights(shape)
        for m, xd in [(512, "float16"), (512, "float32"), (17, "float16"), (64, "float16"), (1000, "float16")]:
            if shape[0] == 128256 and m != 512:
                continue
            tb, _ = bench.cublas_time(shape, m)

            def f(shape=shape, m=m, xd=xd, tb=tb):
                r, _ = bench.measure(shape, m, xd, "wgmma")
                return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]} plan {mm._wgmma_plan(m, *shape, 132)}", f, SET)
        mm.WGMMA_NARROW_MAX_BLOCKS_PER_SM = 0.0
        x = cp.random.standard_normal((200, shape[1]), dtype=cp.float32).astype(cp.float16)
        ys = []
        for on in (False, True):
            mm.WGMMA_TMA = on
            ys.append(mm.matmul(x, q[0], path="wgmma"))
        ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
        err = float(cp.linalg.norm(ys[1].astype(cp.float64) - ref) / cp.linalg.norm(ref))
        print(f"{shape} M=200: tma bit-equal to cp.async {bool((ys[0] == ys[1]).all())}, rel err {err:.2e}, "
              f"tma_error {mm.tma_error}", flush=True)
    mm.WGMMA_TMA = True

# ---------------------------------------------------------------- wgmma: ring depth, narrow blocks
if part == "wgst":
    # With x through TMA, is a deeper x ring (CQ_WG_STAGES 5, 6: refills 3, 4
    # stages ahead) faster? And 64-row thread blocks for M <= 64 (with the
    # box of M rounded up to 8 rows), also split over K.
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    plain_source, plain_key, plain_st = mk.matmul_sm90_source, mk.SM90_MODULE_KEY, mk.WGMMA_STAGES
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)

    def stages(st):
        src = f"#define CQ_WG_STAGES {st}\n" + plain_source()

        def apply():
            mk.matmul_sm90_source = lambda: src
            mk.SM90_MODULE_KEY = f"{plain_key}:st{st}"
            mk.WGMMA_STAGES = st
        return apply
    SET = {f"st{st}": stages(st) for st in (4, 5, 6)}
    SET["st4'"] = stages(4)
    for shape in SHAPES:
        for m in (512, 1000):
            tb, _ = bench.cublas_time(shape, m)

            def f(shape=shape, m=m, tb=tb):
                r, _ = bench.measure(shape, m, "float16", "wgmma")
                return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
            ab(f"{shape[0]}x{shape[1]} M={m} plan {mm._wgmma_plan(m, *shape, 132)}", f, SET)
    stages(4)()

    def narrow(max_m, tma=True):
        def apply():
            mm.WGMMA_NARROW_MAX_M = max_m
            mm.WGMMA_TMA = tma
        return apply
    SET = {"w128": narrow(0), "w64": narrow(64), "w128cp": narrow(0, False), "w64cp": narrow(64, False)}
    for shape in [(4096, 4096), (14336, 4096), (4096, 14336)]:
        for m in (17, 33, 64):
            tb, _ = bench.cublas_time(shape, m)

            def f(shape=shape, m=m, tb=tb):
                r, _ = bench.measure(shape, m, "float16", "wgmma")
                return f"{r['time_us']:7.2f}"
            ab(f"{shape[0]}x{shape[1]} M={m} plan64 {mm._wgmma_plan(m, *shape, 132)}", f, SET)
            def g(shape=shape, m=m):
                r, _ = bench.measure(shape, m, "float16", "matvec" if m <= 32 else "dequant_gemm")
                return f"{r['time_us']:7.2f}"
            ab(f"{shape[0]}x{shape[1]} M={m} {'matvec' if m <= 32 else 'dequant_gemm'}", g, {"": lambda: None})
    narrow(64)()
    mk.matmul_sm90_source, mk.SM90_MODULE_KEY, mk.WGMMA_STAGES = plain_source, plain_key, plain_st

# ---------------------------------------------------------------- wgmma: two K splits on one-wave grids
if part == "split2":
    # 4096-row weights at M = 512 give 128 thread blocks of 128 x 128: one an
    # SM. Split K in two: 256 blocks, two resident an SM (one wave), partial
    # sums added by the tile's last block. Session 14's split of such grids
    # made 3 splits (384 blocks: 1.5 waves) and was 2x slower.
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)

    def split(max_bps, bps):
        def apply():
            mm.WGMMA_SPLIT_MAX_BLOCKS_PER_SM, mm.WGMMA_SPLIT_BLOCKS_PER_SM = max_bps, bps
        return apply
    SET = {"base": split(0.5, 2.0), "split2": split(1.0, 1.94), "base'": split(0.5, 2.0), "split2'": split(1.0, 1.94)}
    for shape in [(4096, 4096), (4096, 14336)]:
        for m, xd in [(512, "float16"), (512, "float32"), (1000, "float16"), (256, "float16")]:
            tb, _ = bench.cublas_time(shape, m)

            def f(shape=shape, m=m, xd=xd, tb=tb):
                r, _ = bench.measure(shape, m, xd, "wgmma")
                return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f}) {mm._wgmma_plan(m, *shape, 132)}"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]}", f, SET)
    split(0.5, 2.0)()

# ---------------------------------------------------------------- ncu of the wgmma kernel
if part == "ncu_wg":
    # run 6: the kernel for ncu (notes/device_s15_run6.sh profiles one launch)
    import cupyquant.qmatmul as mm
    from test_bench_matmul import random_q4_0_device
    n, k = (int(v) for v in os.environ.get("PROBE_SHAPE", "4096x4096").split("x"))
    m = int(os.environ.get("PROBE_M", "512"))
    w = random_q4_0_device(n, k, seed=0)
    x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(cp.float16)
    for _ in range(4):
        y = mm.matmul(x, w, path="wgmma")
    cp.cuda.Device().synchronize()
    print("done", y.shape, mm._wgmma_plan(m, n, k, 132), flush=True)

# ---------------------------------------------------------------- wgmma: 256 wide + split on one-wave grids
if part == "wide_split":
    # run 6's ncu: ~180 warp instructions a warp and stage, most of them the
    # weights' decode, which 256-wide blocks spend on twice the products. On
    # 4096-row weights at M = 512, 256-wide blocks are 64; split K in two to
    # make 128 (one an SM).
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    plain = mm._wgmma_plan

    def plan(width, splits):
        def apply():
            if width is None:
                mm._wgmma_plan = plain
            else:
                mm._wgmma_plan = lambda M, N, K, sms: (width, splits, -(-(K // 64) // splits))
        return apply
    SET = {"auto": plan(None, 0), "w256s2": plan(256, 2), "w256s1": plan(256, 1), "w128s1": plan(128, 1),
           "auto'": plan(None, 0), "w256s2'": plan(256, 2)}
    for shape in [(4096, 4096), (4096, 14336)]:
        for m, xd in [(512, "float16"), (512, "float32"), (1000, "float16"), (384, "float16")]:
            tb, _ = bench.cublas_time(shape, m)

            def f(shape=shape, m=m, xd=xd, tb=tb):
                r, _ = bench.measure(shape, m, xd, "wgmma")
                return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]} auto plan {plain(m, *shape, 132)}", f, SET)
    mm._wgmma_plan = plain
    # accuracy of the forced plan
    q, _ = bench.weights((4096, 4096))
    x = cp.random.standard_normal((512, 4096), dtype=cp.float32).astype(cp.float16)
    plan(256, 2)()
    y = mm.matmul(x, q[0], path="wgmma")
    mm._wgmma_plan = plain
    ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
    print(f"w256s2 rel err {float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref)):.2e}")
