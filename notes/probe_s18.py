"""Device probe, session 18 (H200).

    PYTHONPATH=. python notes/probe_s18.py r64   # one-warpgroup wgmma blocks (64 x 256) against the 128-row plans (run 1)
    PYTHONPATH=. python notes/probe_s18.py r64b  # ... one or two warpgroups, x as 64-row boxes (run 2)
    PYTHONPATH=. python notes/probe_s18.py r64c  # ... one 256-row box, shifted on the last tile (run 3)
    PYTHONPATH=. python notes/probe_s18.py auto  # the automatic path on those shapes (run 4)
    PYTHONPATH=. python notes/probe_s18.py k8192  # 64-row blocks at K = 6144 / 8192 (run 5)
    PROBE_R64=1 PYTHONPATH=. python notes/probe_s18.py ncu  # one product for ncu (run 5)
    PYTHONPATH=. python notes/probe_s18.py mv8xs  # matrix-vector M = 4-8, x_shared split over K (run 7)

Part "r64": thread blocks of 64 weight rows x 256 activation rows (one
warpgroup, one an SM; qmatmul._wgmma_choice) against the plans of 128 weight
rows (two warpgroups) that the auto path took before (WGMMA_R64 False).
Checks first that the two give bit-identical outputs for the same width and
splits (the same k order for every output), then times both, alternating,
with cuBLAS float16 of the same shape in the same process. Times in us
(x cuBLAS).
"""
import sys

import cupy as cp

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab  # noqa: E402

part = sys.argv[1]


if part == "r64":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    plain_choice = mm._wgmma_choice

    def setting(r64=True, choice=None):
        def apply():
            mm.WGMMA_R64 = r64
            mm._wgmma_choice = choice or plain_choice
        return apply

    def fixed(rows, width, splits):
        def choice(M, N, K, sms):
            return (rows, width) + mm._wgmma_split(K // 256, splits) if splits > 1 else (rows, width, 1, K // 64)
        return choice

    # bits: the same width and splits with 64 and 128 weight rows a block
    for shape, m in [((4096, 4096), 512), ((4096, 4096), 300), ((1000, 14336), 600)]:
        q, _ = bench.weights(shape)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
        ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
        outs = {}
        for name, splits in [("s1", 1), ("s2", 2)]:
            for rows in (64, 128):
                setting(choice=fixed(rows, 256, splits))()
                outs[(name, rows)] = y = mm.matmul(x, q[0], path="wgmma")
                err = float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref))
                print(f"{shape} M={m} rows {rows} width 256 {name}: rel err {err:.2e}", flush=True)
            print(f"{shape} M={m} {name}: rows 64 == rows 128 bit-identical "
                  f"{bool((outs[(name, 64)] == outs[(name, 128)]).all())}", flush=True)
    setting()()

    def row(shape, m, settings, xd="float16", path="wgmma"):
        tb, _ = bench.cublas_time(shape, m)

        def f():
            r, _ = bench.measure(shape, m, xd, path)
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]} cuBLAS {tb * 1e6:.2f} choice {plain_choice(m, *shape, 132)} "
           f"r128 plan {mm._wgmma_plan(m, *shape, 132)}", f, settings)

    ab4 = {"r128": setting(False), "r64": setting(True), "r128'": setting(False), "r64'": setting(True)}
    for shape in [(4096, 4096), (4096, 14336)]:
        row(shape, 512, ab4)
        row(shape, 512, ab4, xd="float32")
        row(shape, 384, ab4)
        row(shape, 300, ab4)
        row(shape, 512, {"auto_r64": setting(True)}, path=None)
        row(shape, 384, {"auto_r64": setting(True), "auto_r128": setting(False)}, path=None)
    # M = 129-256: 64 blocks of 64 x 256 (half the SMs), or split in two over K
    for shape in [(4096, 4096), (4096, 14336)]:
        row(shape, 256, {"r128": setting(False), "r64s1": setting(choice=fixed(64, 256, 1)),
                         "r64s2": setting(choice=fixed(64, 256, 2)), "r128'": setting(False)})
    # many waves: the 64 x 256 block against the 128 x 256 one (same products per decode)
    for shape in [(14336, 4096), (128256, 4096)]:
        row(shape, 512, {"r128": setting(False), "r64": setting(choice=fixed(64, 256, 1)), "r128'": setting(False)})
    row((4096, 4096), 1000, {"r128": setting(False), "r64": setting(choice=fixed(64, 256, 1))})
    setting()()


if part == "r64b":
    # Run 2: 64-row blocks as one warpgroup (w1) or two taking turns over K
    # (w2), both copying x as 64-row TMA boxes (only those with rows below M),
    # against the 128-row plans (r128).
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    plain_choice, plain_plan = mm._wgmma_choice, mm._wgmma_plan

    def setting(r64=True, wgs=2, choice=None, plan=None):
        def apply():
            mm.WGMMA_R64, mm.WGMMA_R64_WARPGROUPS = r64, wgs
            mm._wgmma_choice = choice or plain_choice
            mm._wgmma_plan = plan or plain_plan
        return apply

    def fixed(rows, width, splits):
        def choice(M, N, K, sms):
            return (rows, width) + mm._wgmma_split(K // 256, splits) if splits > 1 else (rows, width, 1, K // 64)
        return choice

    for shape, m in [((4096, 4096), 512), ((4096, 4096), 300), ((1000, 14336), 600), ((4096, 14336), 384)]:
        q, _ = bench.weights(shape)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
        ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
        outs = {}
        for name, apply in [("r128", setting(choice=fixed(128, 256, 1))), ("w1", setting(wgs=1, choice=fixed(64, 256, 1))),
                            ("w2", setting(wgs=2, choice=fixed(64, 256, 1))),
                            ("w2s2", setting(wgs=2, choice=fixed(64, 256, 2)))]:
            apply()
            outs[name] = y = mm.matmul(x, q[0], path="wgmma")
            err = float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref))
            print(f"{shape} M={m} {name}: rel err {err:.2e}, finite {bool(cp.isfinite(y).all())}", flush=True)
        print(f"{shape} M={m}: w1 == r128 (width 256) bit-identical {bool((outs['w1'] == outs['r128']).all())}",
              flush=True)
    setting()()

    def row(shape, m, settings, xd="float16", path="wgmma"):
        tb, _ = bench.cublas_time(shape, m)

        def f():
            r, _ = bench.measure(shape, m, xd, path)
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]} cuBLAS {tb * 1e6:.2f} choice {plain_choice(m, *shape, 132)} "
           f"r128 plan {plain_plan(m, *shape, 132)}", f, settings)

    ab6 = {"r128": setting(False), "w1": setting(True, 1), "w2": setting(True, 2), "r128'": setting(False),
           "w1'": setting(True, 1), "w2'": setting(True, 2)}
    ab3 = {"r128": setting(False), "w1": setting(True, 1), "w2": setting(True, 2)}
    row((4096, 4096), 512, ab6)
    row((4096, 4096), 512, ab3, xd="float32")
    row((4096, 4096), 384, ab3)
    row((4096, 4096), 300, ab3)
    row((4096, 14336), 512, ab6)
    row((4096, 14336), 512, ab3, xd="float32")
    row((4096, 14336), 384, ab3)
    row((4096, 4096), 512, {"auto": setting()}, path=None)
    for shape in [(4096, 4096), (4096, 14336)]:
        row(shape, 256, {"r128": setting(False), "w2s1": setting(choice=fixed(64, 256, 1)),
                         "w2s2": setting(choice=fixed(64, 256, 2)), "w1s2": setting(wgs=1, choice=fixed(64, 256, 2))})
    row((14336, 4096), 512, {"r128": setting(False), "w2": setting(choice=fixed(64, 256, 1)), "r128'": setting(False)})
    row((4096, 4096), 1000, {"r128": setting(False), "w2": setting(choice=fixed(64, 256, 1))})
    # the 128-row kernel of width 256 on a partly empty last activation tile
    # (one 256-row box, mostly zero-filled): 14336 x 4096 at M = 300
    row((14336, 4096), 300, {"plan_w256": setting(False), "w128": setting(False, plan=lambda M, N, K, s: (128, 1, K // 64)),
                             "w256_r64w2": setting(choice=fixed(64, 256, 1))})
    setting()()


if part == "r64c":
    # Run 3: one 256-row box of x a stage again, the last activation tile's box
    # shifted to end at M (every kernel copying through TMA); one or two
    # warpgroups on 64 weight rows (w1 / w2) against the 128-row plans (r128),
    # and the 128-row kernels against their session-start source (prev).
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    plain_choice, plain_plan = mm._wgmma_choice, mm._wgmma_plan
    plain_src, plain_key = mk.matmul_sm90_source, mk.SM90_MODULE_KEY
    prev_src = open("notes/s18_prev_sm90.cu").read()

    def setting(r64=True, wgs=2, choice=None, plan=None, prev=False):
        def apply():
            mm.WGMMA_R64, mm.WGMMA_R64_WARPGROUPS = r64, wgs
            mm._wgmma_choice = choice or plain_choice
            mm._wgmma_plan = plan or plain_plan
            mk.matmul_sm90_source = (lambda: prev_src) if prev else plain_src
            mk.SM90_MODULE_KEY = plain_key + (":prev" if prev else "")
        return apply

    def fixed(rows, width, splits):
        def choice(M, N, K, sms):
            return (rows, width) + mm._wgmma_split(K // 256, splits) if splits > 1 else (rows, width, 1, K // 64)
        return choice

    def wplan(width):
        return lambda M, N, K, sms: (width, 1, K // 64)

    for shape, m in [((4096, 4096), 512), ((4096, 4096), 300), ((1000, 14336), 600), ((4096, 14336), 384),
                     ((14336, 4096), 300)]:
        q, _ = bench.weights(shape)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
        ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
        outs = {}
        for name, apply in [("prev256", setting(False, plan=wplan(256), prev=True)),
                            ("r128_256", setting(False, plan=wplan(256))), ("r128_128", setting(False, plan=wplan(128))),
                            ("w1", setting(wgs=1, choice=fixed(64, 256, 1))), ("w2", setting(wgs=2, choice=fixed(64, 256, 1))),
                            ("w2s2", setting(wgs=2, choice=fixed(64, 256, 2)))]:
            apply()
            outs[name] = y = mm.matmul(x, q[0], path="wgmma")
            err = float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref))
            print(f"{shape} M={m} {name}: rel err {err:.2e}, finite {bool(cp.isfinite(y).all())}", flush=True)
        same = {k: bool((outs[k] == outs["prev256"]).all()) for k in ("r128_256", "r128_128", "w1")}
        print(f"{shape} M={m}: bit-identical to prev256 {same}", flush=True)
    setting()()

    def row(shape, m, settings, xd="float16", path="wgmma"):
        tb, _ = bench.cublas_time(shape, m)

        def f():
            r, _ = bench.measure(shape, m, xd, path)
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]} cuBLAS {tb * 1e6:.2f} choice {plain_choice(m, *shape, 132)} "
           f"r128 plan {plain_plan(m, *shape, 132)}", f, settings)

    ab6 = {"r128": setting(False), "w1": setting(True, 1), "w2": setting(True, 2), "prev": setting(False, prev=True),
           "w1'": setting(True, 1), "w2'": setting(True, 2), "r128'": setting(False)}
    ab3 = {"r128": setting(False), "w1": setting(True, 1), "w2": setting(True, 2)}
    row((4096, 4096), 512, ab6)
    row((4096, 4096), 512, ab3, xd="float32")
    row((4096, 4096), 384, ab3)
    row((4096, 4096), 300, ab3)
    row((4096, 14336), 512, dict(ab3, prev=setting(False, prev=True)))
    row((4096, 14336), 384, ab3)
    row((4096, 4096), 256, {"r128": setting(False), "w2s2": setting(choice=fixed(64, 256, 2)),
                            "w1s2": setting(wgs=1, choice=fixed(64, 256, 2))})
    # the 128-row kernels on the benchmark shapes, against the session-start source
    for shape in [(14336, 4096), (128256, 4096)]:
        row(shape, 512, {"prev": setting(False, prev=True), "r128": setting(False), "prev'": setting(False, prev=True),
                         "r128'": setting(False)})
    # partly filled last activation tiles: 256-wide (shifted box now) against 128-wide and the start source
    for shape in [(14336, 4096), (128256, 4096)]:
        row(shape, 300, {"w256": setting(False, plan=wplan(256)), "w128": setting(False, plan=wplan(128)),
                         "prev_w256": setting(False, plan=wplan(256), prev=True)})
    row((4096, 4096), 1000, {"r128": setting(False), "prev": setting(False, prev=True)})
    setting()()


if part == "auto":
    # Run 4: the automatic path (the submitted rules) on the shapes runs 1-3
    # compared by hand.
    from test_bench_matmul import get_bench
    bench = get_bench()
    for shape, m in [((4096, 4096), 256), ((4096, 4096), 300), ((4096, 4096), 384), ((4096, 4096), 512),
                     ((14336, 4096), 300), ((128256, 4096), 300), ((4096, 14336), 384)]:
        tb, _ = bench.cublas_time(shape, m)
        r, _ = bench.measure(shape, m, "float16", None)
        print(f"{shape[0]}x{shape[1]} M={m} float16 auto ({r['path']}): {r['time_us']:8.2f} us "
              f"({r['time_us'] / (tb * 1e6):.3f}x cuBLAS {tb * 1e6:.2f})", flush=True)


if part == "ncu":
    # one wgmma product for ncu (--launch-skip 2 --launch-count 1):
    # PROBE_R64=0 the 128-row plan, else the 64-row blocks (two warpgroups)
    import os
    import cupyquant.qmatmul as mm
    from test_bench_matmul import random_q4_0_device
    mm.WGMMA_R64 = os.environ.get("PROBE_R64", "1") != "0"
    n, k = (int(v) for v in os.environ.get("PROBE_SHAPE", "4096x4096").split("x"))
    m = int(os.environ.get("PROBE_M", "512"))
    w = random_q4_0_device(n, k, seed=0)
    x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(cp.float16)
    for _ in range(4):
        y = mm.matmul(x, w, path="wgmma")
    cp.cuda.Device().synchronize()
    print("done", y.shape, mm._wgmma_choice(m, n, k, 132), flush=True)

if part == "k8192":
    # Run 5: 64-row blocks at K = 6144 / 8192 (measured good at 4096, bad at
    # 14336), against the 128-row plans.
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()

    def setting(r64, maxk=1 << 30):
        def apply():
            mm.WGMMA_R64, mm.WGMMA_R64_MAX_K = r64, maxk
        return apply
    for shape in [(4096, 6144), (4096, 8192), (4096, 4096)]:
        tb, _ = bench.cublas_time(shape, 512)

        def f(shape=shape):
            r, _ = bench.measure(shape, 512, "float16", "wgmma")
            return f"{r['time_us']:8.2f} ({r['time_us'] / (tb * 1e6):.3f})"
        ab(f"{shape[0]}x{shape[1]} M=512 float16 cuBLAS {tb * 1e6:.2f} r128 plan {mm._wgmma_plan(512, *shape, 132)}",
           f, {"r128": setting(False), "r64": setting(True), "r128'": setting(False), "r64'": setting(True)})
    setting(True, 4096)()


if part == "mv8xs":
    # Run 7: matrix-vector, 4096 x 14336 at M = 4 / 6 / 8 (float16 x; M = 8 is
    # 1.54x M = 1, goal 1.5): the x_shared kernel split over K so that each
    # split's activation records fit (the automatic plan asks whether all of
    # K's records fit, 229 KiB at M = 8, and reads x from global memory), as
    # persistent thread blocks taking tiles from each split's queue.
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    plain = mm._mv_plan
    sms = 132

    def xs_plan(geo, splits_wanted):
        def plan(cp_, x_dtype, y_dtype, mc, nb, tiles, n_tiles, sms_):
            kb = geo[1]
            n_st = -(-nb // kb)
            sps = -(-n_st // splits_wanted)
            splits = -(-n_st // sps)
            name = mk.mv_tc_name(x_dtype, y_dtype, 1, geo, x_shared=True)
            smem = mk.mv_x_shared_offset(*geo) + mk.mv_x_shared_bytes(mc, sps * kb)
            kern = mm._kernel_with_smem(cp_, name, smem)
            resident = mm._occupancy(cp_, kern, smem) * sms_
            grid_x = max(1, min(tiles, resident // splits))
            return kern, geo, smem, grid_x, splits, sps, True, grid_x >= resident // splits
        return plan

    def setting(planf=None):
        def apply():
            mm._mv_plan = planf or plain
            mm._mv_plans.clear()
        return apply
    settings = {"auto": setting(), "g2s7": setting(xs_plan((16, 64, 2), 7)), "g2s4": setting(xs_plan((16, 64, 2), 4)),
                "g3s7": setting(xs_plan((16, 64, 3), 7)), "auto'": setting(), "g2s7'": setting(xs_plan((16, 64, 2), 7))}
    shape = (4096, 14336)
    q, _ = bench.weights(shape)
    for m in (8, 6, 4):
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
        ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
        for name in ("g2s7", "g2s4", "g3s7"):
            settings[name]()
            y = mm.matmul(x, q[0], path="matvec")
            err = float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref))
            p = mm._mv_plans[next(iter(mm._mv_plans))]
            print(f"M={m} {name}: plan geo {p[1]} smem {p[2]} grid {p[3]} splits {p[4]} sps {p[5]}: rel err {err:.2e}",
                  flush=True)
        setting()()
        mm.matmul(x, q[0], path="matvec")
        p = mm._mv_plans[next(iter(mm._mv_plans))]
        print(f"M={m} auto: plan geo {p[1]} smem {p[2]} grid {p[3]} splits {p[4]} sps {p[5]} x_shared {p[6]}", flush=True)

        def f(m=m):
            r, _ = bench.measure(shape, m, "float16", None)
            return f"{r['time_us']:7.2f}"
        ab(f"{shape[0]}x{shape[1]} M={m} float16", f, settings)
    r1, _ = bench.measure(shape, 1, "float16", None)
    print(f"M=1 float16 auto {r1['time_us']:.2f} us", flush=True)
    setting()()
