"""Device probe, session 17 (H200).

    PYTHONPATH=. python notes/probe_s17.py split   # wgmma split-K sum A/B (run 1)
    PYTHONPATH=. python notes/probe_s17.py split2  # the same, sum without the registers (run 2)
    PYTHONPATH=. python notes/probe_s17.py mv8     # matrix-vector M = 8 knobs, 4096 x 14336
    PROBE_SRC=prev PYTHONPATH=. python notes/probe_s17.py ncu_wg  # one kernel for ncu

Part "split": the wgmma kernel's split-K sum. notes/s17_prev_sm90.cu is the
module source at the start of session 17 (commit 342e79a: common.h,
q4_0_mm_common.hip and q4_0_matmul_sm90.hip joined by newlines, as
matmul_kernels.matmul_sm90_source joins them), whose last thread block of a
tile adds the partial sums up one element a thread at a time; the new source
adds them in registers, a chunk's loads in flight at once. Plans (width,
splits) forced per setting. Times in us (x cuBLAS float16 in the same run).
"""
import sys

import cupy as cp

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab  # noqa: E402

part = sys.argv[1]


def fixed_plan(width, splits):
    """A _wgmma_plan replacement: ``width`` activation rows, K in ``splits``
    ranges of whole 4-stage groups."""
    def plan(M, N, K, sms):
        groups = K // 256
        per = -(-groups // splits)
        return width, -(-groups // per), 4 * per
    return plan


if part == "split":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    plain_src, plain_key, plain_plan = mk.matmul_sm90_source, mk.SM90_MODULE_KEY, mm._wgmma_plan
    prev = open("notes/s17_prev_sm90.cu").read()

    def setting(src, key, plan=None):
        def apply():
            mk.matmul_sm90_source = (lambda: src) if src else plain_src
            mk.SM90_MODULE_KEY = plain_key + key
            mm._wgmma_plan = plan or plain_plan
        return apply

    def prev_(plan=None):
        return setting(prev, ":prev", plan)

    def new(plan=None):
        return setting(None, "", plan)

    # bits: the same split plan through both sums; accuracy of each
    q, _ = bench.weights((4096, 4096))
    for m in (600, 40):
        x = cp.random.standard_normal((m, 4096), dtype=cp.float32).astype(cp.float16)
        ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
        outs = {}
        for name, apply in {"prev_s1": prev_(fixed_plan(128, 1)), "prev_s2": prev_(fixed_plan(128, 2)),
                            "new_s2": new(fixed_plan(128, 2)), "new_w256s2": new(fixed_plan(256, 2)),
                            "prev_w64s3": prev_(fixed_plan(64, 3)), "new_w64s3": new(fixed_plan(64, 3)),
                            "new_s5": new(fixed_plan(128, 5))}.items():
            apply()
            outs[name] = mm.matmul(x, q[0], path="wgmma")
            cp.cuda.Device().synchronize()
            err = float(cp.linalg.norm(outs[name].astype(cp.float64) - ref) / cp.linalg.norm(ref))
            print(f"M={m} {name}: rel err {err:.2e}; bit-identical to prev_s2 {bool((outs[name] == outs['prev_s2']).all())}"
                  if "prev_s2" in outs else f"M={m} {name}: rel err {err:.2e}", flush=True)
        print(f"M={m} new_w64s3 == prev_w64s3: {bool((outs['new_w64s3'] == outs['prev_w64s3']).all())}", flush=True)

    def row(shape, m, settings, xd="float16", path="wgmma"):
        tb, _ = bench.cublas_time(shape, m)

        def f():
            r, _ = bench.measure(shape, m, xd, path)
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]} auto plan {plain_plan(m, *shape, 132)}", f, settings)

    big = {"prev": prev_(), "new": new(), "prev_s2": prev_(fixed_plan(128, 2)), "new_s2": new(fixed_plan(128, 2)),
           "new_w256s2": new(fixed_plan(256, 2)), "new_s3": new(fixed_plan(128, 3)), "new'": new(),
           "new_s2'": new(fixed_plan(128, 2)), "new_w256s2'": new(fixed_plan(256, 2))}
    for shape in [(4096, 4096), (4096, 14336)]:
        row(shape, 512, big)
    for shape in [(4096, 4096), (4096, 14336)]:
        row(shape, 512, {k: big[k] for k in ("new", "new_s2", "new_w256s2")}, xd="float32")
        row(shape, 1000, {k: big[k] for k in ("new", "new_s2", "new_w256s2", "new'")})
        row(shape, 384, {k: big[k] for k in ("new", "new_s2", "new_w256s2", "new_s3")})
        row(shape, 256, {"new": new(), "new_s2": new(fixed_plan(128, 2)), "new_s3": new(fixed_plan(128, 3)),
                         "new_s4": new(fixed_plan(128, 4))})
    # smaller M: the auto plan (splits of 64-row blocks on 4096 x 14336) with both sums,
    # and splits where the auto rule has none
    for shape, m in [((4096, 14336), 17), ((4096, 14336), 64), ((4096, 14336), 128)]:
        row(shape, m, {"prev": prev_(), "new": new(), "prev'": prev_(), "new'": new()})
    for shape, m in [((4096, 4096), 17), ((4096, 4096), 64), ((4096, 4096), 128), ((14336, 4096), 17),
                     ((14336, 4096), 64), ((14336, 4096), 128)]:
        w = 64 if m <= 64 else 128
        sets = {"new": new(), "new_s2": new(fixed_plan(w, 2)), "new_s4": new(fixed_plan(w, 4))}
        if shape == (4096, 4096):
            sets["new_s8"] = new(fixed_plan(w, 8))
        row(shape, m, sets)
        row(shape, m, {"auto": new()}, path=None)
    new()()

if part == "split2":
    # Run 2: the sum as before (every split's partials read back, the
    # registers not held past the atomic: run 1's version cost the main loop
    # 12-19% at M = 512 without a split, 125 -> 128 registers and values
    # recomputed in the loop), but 8 float4 loads a thread in flight.
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    plain_src, plain_key, plain_plan = mk.matmul_sm90_source, mk.SM90_MODULE_KEY, mm._wgmma_plan
    prev = open("notes/s17_prev_sm90.cu").read()

    def setting(src, key, plan=None, **knobs):
        def apply():
            mk.matmul_sm90_source = (lambda: src) if src else plain_src
            mk.SM90_MODULE_KEY = plain_key + key
            mm._wgmma_plan = plan or plain_plan
            for k, v in dict(dict(WGMMA_SPLIT_MAX_BLOCKS_PER_SM=0.5, WGMMA_SPLIT_BLOCKS_PER_SM=2.0), **knobs).items():
                setattr(mm, k, v)
        return apply

    def prev_(plan=None, **kw):
        return setting(prev, ":prev", plan, **kw)

    def new(plan=None, **kw):
        return setting(None, "", plan, **kw)

    q, _ = bench.weights((4096, 4096))
    for m in (600, 40):
        x = cp.random.standard_normal((m, 4096), dtype=cp.float32).astype(cp.float16)
        outs = {}
        for name, apply in {"prev_s2": prev_(fixed_plan(128, 2)), "new_s2": new(fixed_plan(128, 2)),
                            "prev_w64s3": prev_(fixed_plan(64, 3)), "new_w64s3": new(fixed_plan(64, 3)),
                            "prev_w256s4": prev_(fixed_plan(256, 4)), "new_w256s4": new(fixed_plan(256, 4))}.items():
            apply()
            outs[name] = mm.matmul(x, q[0], path="wgmma")
        for a in ("s2", "w64s3", "w256s4"):
            print(f"M={m} {a}: new == prev {bool((outs['new_' + a] == outs['prev_' + a]).all())}", flush=True)

    def row(shape, m, settings, xd="float16", path="wgmma"):
        tb, _ = bench.cublas_time(shape, m)

        def f():
            r, _ = bench.measure(shape, m, xd, path)
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]} auto plan {plain_plan(m, *shape, 132)}", f, settings)

    ab4 = {"prev": prev_(), "new": new(), "prev'": prev_(), "new'": new()}
    for shape in [(4096, 4096), (4096, 14336)]:
        row(shape, 512, dict(ab4, new_s2=new(fixed_plan(128, 2)), new_w256s2=new(fixed_plan(256, 2)),
                             new_w256s2b=new(fixed_plan(256, 2))))
    for shape in [(14336, 4096), (128256, 4096)]:
        row(shape, 512, ab4)
    row((4096, 14336), 1000, {"new": new(), "new_w256s2": new(fixed_plan(256, 2)), "new_w256s4": new(fixed_plan(256, 4))})
    for shape, m in [((4096, 14336), 17), ((4096, 14336), 64), ((4096, 14336), 128), ((4096, 14336), 256),
                     ((4096, 4096), 1000)]:
        row(shape, m, ab4)
    # where the auto rule might split with the new sum: grids of up to one
    # block an SM (WGMMA_SPLIT_MAX_BLOCKS_PER_SM 1.0), any K
    for shape, m in [((4096, 4096), 128), ((4096, 4096), 256), ((4096, 14336), 384), ((14336, 4096), 17),
                     ((14336, 4096), 64), ((4096, 4096), 17)]:
        row(shape, m, {"new": new(), "new_max1": new(WGMMA_SPLIT_MAX_BLOCKS_PER_SM=1.0),
                       "new_s2": new(fixed_plan(64 if m <= 64 else 128, 2)),
                       "new_w256s2": new(fixed_plan(256, 2))} if m >= 256 else
            {"new": new(), "new_max1": new(WGMMA_SPLIT_MAX_BLOCKS_PER_SM=1.0),
             "new_s2": new(fixed_plan(64 if m <= 64 else 128, 2))})
        row(shape, m, {"auto": new()}, path=None)
    new()()

if part == "mv8":
    # Matrix-vector at M = 8 on 4096 x 14336 (1.59x M = 1, goal 1.5): K split
    # and geometry knobs.
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    plain = {k: getattr(mm, k) for k in ("MV_BLOCKS_PER_SM_LONG_K", "MV_GEOMETRY", "MV_X_SHARED_MANY_TILES")}

    def knobs(**kw):
        def apply():
            for k, v in dict(plain, **kw).items():
                setattr(mm, k, v)
        return apply
    SET = {"auto": knobs(), "bps1.5": knobs(MV_BLOCKS_PER_SM_LONG_K=1.5), "bps2": knobs(MV_BLOCKS_PER_SM_LONG_K=2.0),
           "bps0.75": knobs(MV_BLOCKS_PER_SM_LONG_K=0.75), "g16_32_3": knobs(MV_GEOMETRY=(16, 32, 3)),
           "g16_64_2": knobs(MV_GEOMETRY=(16, 64, 2)), "g16_64_3": knobs(MV_GEOMETRY=(16, 64, 3)),
           "auto'": knobs()}
    for shape in [(4096, 14336)]:
        for m in (8, 6, 4):
            def f(shape=shape, m=m):
                r, _ = bench.measure(shape, m, "float16", None)
                return f"{r['time_us']:7.2f}"
            ab(f"{shape[0]}x{shape[1]} M={m} float16", f, SET)
    r, _ = bench.measure((4096, 14336), 1, "float16", None)
    print(f"4096x14336 M=1 float16 {r['time_us']:.2f}", flush=True)
    knobs()()

if part == "ncu_wg":
    # one wgmma product for ncu (--launch-skip 2 --launch-count 1); PROBE_SRC=prev: the
    # kernel at the start of session 17
    import os
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import random_q4_0_device
    if os.environ.get("PROBE_SRC") == "prev":
        src = open("notes/s17_prev_sm90.cu").read()
        mk.matmul_sm90_source = lambda: src
        mk.SM90_MODULE_KEY += ":prev"
    n, k = (int(v) for v in os.environ.get("PROBE_SHAPE", "4096x4096").split("x"))
    m = int(os.environ.get("PROBE_M", "512"))
    w = random_q4_0_device(n, k, seed=0)
    x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(cp.float16)
    for _ in range(4):
        y = mm.matmul(x, w, path="wgmma")
    cp.cuda.Device().synchronize()
    print("done", y.shape, mm._wgmma_plan(m, n, k, 132), flush=True)

if part == "ring":
    # Run 3: deeper x rings for 128-row blocks on one-wave grids (4096-row
    # weights, M = 512: one block an SM, so the smem of two is free). Run 2's
    # ncu of the session-start kernel (4096^2) had the x full-barrier waits as
    # the top stall (about 21% of the samples).
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    plain_src, plain_key, plain_st = mk.matmul_sm90_source, mk.SM90_MODULE_KEY, mk.WGMMA_STAGES

    def ring(st):
        src = plain_src() if st == plain_st else f"#define CQ_WG_STAGES {st}\n" + plain_src()

        def apply():
            mk.matmul_sm90_source = lambda: src
            mk.SM90_MODULE_KEY = plain_key + ("" if st == plain_st else f":st{st}")
            mk.WGMMA_STAGES = st
        return apply
    SET = {"st4": ring(4), "st5": ring(5), "st6": ring(6), "st4'": ring(4), "st6'": ring(6)}
    for shape, m in [((4096, 4096), 512), ((4096, 4096), 384), ((4096, 14336), 1000)]:
        tb, _ = bench.cublas_time(shape, m)

        def f(shape=shape, m=m, tb=tb):
            r, _ = bench.measure(shape, m, "float16", "wgmma")
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} f16 plan {mm._wgmma_plan(m, *shape, 132)}", f, SET)
    ring(plain_st)()

if part == "tail":
    # Run 4: the last wave's tiles in a second launch split over K (WGMMA_TAIL)
    # against one launch; and more matrix-vector M = 8 knobs.
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()

    def tail(on):
        def apply():
            mm.WGMMA_TAIL = on
        return apply
    SET = {"tail": tail(True), "one": tail(False), "tail'": tail(True), "one'": tail(False)}
    for shape, m, xd in [((128256, 4096), 512, "float16"), ((128256, 4096), 512, "float32"),
                         ((128256, 4096), 1000, "float16")]:
        tb, _ = bench.cublas_time(shape, m)

        def f(shape=shape, m=m, xd=xd, tb=tb):
            r, _ = bench.measure(shape, m, xd, "wgmma")
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]} rows {mm._wgmma_tail(m, shape[0], 256, 132)}", f, SET)
    tail(True)()
    plain = {k: getattr(mm, k) for k in ("MV_BLOCKS_PER_SM_LONG_K", "MV_GEOMETRY")}

    def knobs(**kw):
        def apply():
            for k, v in dict(plain, **kw).items():
                setattr(mm, k, v)
        return apply
    SET = {"auto": knobs(), "bps1": knobs(MV_BLOCKS_PER_SM_LONG_K=1.0), "bps1.25": knobs(MV_BLOCKS_PER_SM_LONG_K=1.25),
           "bps1.75": knobs(MV_BLOCKS_PER_SM_LONG_K=1.75), "g16_32_3": knobs(MV_GEOMETRY=(16, 32, 3)),
           "auto'": knobs(), "bps1'": knobs(MV_BLOCKS_PER_SM_LONG_K=1.0)}
    for m in (8, 2):
        def f(m=m):
            r, _ = bench.measure((4096, 14336), m, "float16", None)
            return f"{r['time_us']:7.2f}"
        ab(f"4096x14336 M={m} float16 (auto bps {plain['MV_BLOCKS_PER_SM_LONG_K']})", f, SET)
    knobs()()

if part == "slack":
    # Run 5: deeper x rings with the same lead (CQ_WG_SLACK): thread 0 refills
    # the slot of stage i - 2 - slack at stage i, so it (and with it the
    # wgmma of its warpgroup) waits for the other warpgroup only when that
    # one is more than `slack` stages behind. Run 3's deeper rings kept
    # slack 0 (more lead) and were slower.
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    plain_src, plain_key, plain_st = mk.matmul_sm90_source, mk.SM90_MODULE_KEY, mk.WGMMA_STAGES

    def ring(st, slack):
        src = plain_src() if (st, slack) == (plain_st, 0) else \
            f"#define CQ_WG_STAGES {st}\n#define CQ_WG_SLACK {slack}\n" + plain_src()

        def apply():
            mk.matmul_sm90_source = lambda: src
            mk.SM90_MODULE_KEY = plain_key + ("" if (st, slack) == (plain_st, 0) else f":st{st}s{slack}")
            mk.WGMMA_STAGES = st
        return apply
    q, _ = bench.weights((4096, 4096))
    x = cp.random.standard_normal((600, 4096), dtype=cp.float32).astype(cp.float16)
    ring(4, 0)()
    base = mm.matmul(x, q[0], path="wgmma")
    for st, slack in [(5, 1), (6, 2), (6, 1), (5, 0)]:
        ring(st, slack)()
        print(f"st{st} slack {slack}: bit-identical {bool((mm.matmul(x, q[0], path='wgmma') == base).all())}",
              flush=True)
    narrow = {"st4": ring(4, 0), "st5s1": ring(5, 1), "st6s2": ring(6, 2), "st6s1": ring(6, 1), "st4'": ring(4, 0),
              "st5s1'": ring(5, 1), "st6s2'": ring(6, 2)}
    wide = {"st4": ring(4, 0), "st5s1": ring(5, 1), "st4'": ring(4, 0), "st5s1'": ring(5, 1)}
    for shape, m, sets in [((4096, 4096), 512, narrow), ((4096, 4096), 384, narrow), ((4096, 4096), 1000, wide),
                           ((4096, 14336), 512, wide), ((14336, 4096), 512, wide)]:
        tb, _ = bench.cublas_time(shape, m)

        def f(shape=shape, m=m, tb=tb):
            r, _ = bench.measure(shape, m, "float16", "wgmma")
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} f16 plan {mm._wgmma_plan(m, *shape, 132)}", f, sets)
    ring(plain_st, 0)()
