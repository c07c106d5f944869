"""Device probe, session 19 (H200).

    PYTHONPATH=. python notes/probe_s19.py xtile   # matrix-vector: next tile's first stage during the last (run 1)
    PYTHONPATH=. python notes/probe_s19.py mv2     # ... only with a queue; unbounded registers, 3-stage rings (run 2)
    PYTHONPATH=. python notes/probe_s19.py mv3     # "_xsq" kernels, x_shared fill by cp.async (run 3, at 50bae6e)
    PYTHONPATH=. python notes/probe_s19.py q       # "_xsq" against "_xs", one module, both orders (run 5)
    PYTHONPATH=. python notes/probe_s19.py qshapes # ... on other shapes (K = 2048 / 4096 / 14336; run 6)
    PROBE_XSQ=1 PYTHONPATH=. python notes/probe_s19.py ncu  # six products 128256 x 4096 M = 1 for ncu (run 7)

Parts xtile, mv2 and mv3 switch modules compiled with #defines that later
commits removed or renamed (CQ_MV_XFILL_ASYNC is gone; CQ_MV_XTILE now acts
only in the "_xsq" kernels): they ran at the commits named in
notes/h200_s19/README.md.

Part "xtile": the persistent x_shared matrix-vector kernels with CQ_MV_XTILE
1 (the shipped source: the next tile's first stage is copied during this
tile's last stage) against 0 (the source with the define set to 0, compiled
as a second module: each tile starts with its own first stage's round trip).
First the outputs of both on the benchmark shapes (must be bit-identical: the
same k order), then the benchmark's timing (CUDA graphs, rotating weights),
alternating, two rounds. The kernel and grid each case launched are printed.
"""
import sys

import cupy as cp

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab, launch_spy, module_setting  # noqa: E402

part = sys.argv[1]


if part == "xtile":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)
    settings = {"xt1": module_setting(mm), "xt0": module_setting(mm, {"CQ_MV_XTILE": 0})}
    cases = [(1, "float16"), (1, "float32"), (2, "float32"), (4, "float16"), (8, "float16")]
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]
    for shape in shapes:
        q, _ = bench.weights(shape)
        for m, xd in cases:
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
            outs = []
            for name, apply in settings.items():
                apply()
                outs.append(mm.matmul(x, q[0], out=cp.full((m, shape[0]), cp.nan, dtype=xd)))
            same = bool((outs[0].view(cp.uint16 if xd == "float16" else cp.uint32) ==
                         outs[1].view(cp.uint16 if xd == "float16" else cp.uint32)).all())
            print(f"{shape} M={m} {xd}: bit-identical {same}, kernel {last['k']}", flush=True)
    for rnd in range(2):
        for shape in shapes:
            for m, xd in cases:
                def fn(shape=shape, m=m, xd=xd):
                    r, _ = bench.measure(shape, m, xd, None)
                    return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%)"
                ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", fn, settings)


if part == "mv2":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)
    xt = {"new": module_setting(mm), "xt0": module_setting(mm, {"CQ_MV_XTILE": 0})}
    regs = {"new": module_setting(mm), "minb0": module_setting(mm, {"CQ_MV_MIN_BLOCKS": 0}),
            "g3": module_setting(mm, geometry=(16, 64, 3)),
            "g3minb0": module_setting(mm, {"CQ_MV_MIN_BLOCKS": 0}, geometry=(16, 64, 3))}
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%) {last['k'][0]} {last['k'][1]}"
        return fn
    # bits: every setting against the shipped one
    for shape in [(4096, 4096), (14336, 4096)]:
        q, _ = bench.weights(shape)
        for m, xd in [(1, "float16"), (1, "float32"), (8, "float16")]:
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
            outs = {}
            for name, apply in {**xt, **regs}.items():
                apply()
                outs[name] = mm.matmul(x, q[0], out=cp.full((m, shape[0]), cp.nan, dtype=xd))
            u = cp.uint16 if xd == "float16" else cp.uint32
            same = {n: bool((o.view(u) == outs["new"].view(u)).all()) for n, o in outs.items()}
            print(f"{shape} M={m} {xd}: bit-identical to new {same}", flush=True)
    for rnd in range(2):
        for shape in shapes:
            for m, xd in [(1, "float16"), (1, "float32"), (4, "float16"), (8, "float16")]:
                ab(f"xt r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), xt)
    for rnd in range(2):
        for shape in [(4096, 4096), (4096, 14336)]:
            for m, xd in [(1, "float16"), (1, "float32"), (8, "float16")]:
                ab(f"regs r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), regs)

if part == "mv3":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)
    settings = {"new": module_setting(mm), "noq": module_setting(mm, queue_kernel=()),
                "nofill": module_setting(mm, {"CQ_MV_XFILL_ASYNC": 0}),
                "base": module_setting(mm, {"CQ_MV_XFILL_ASYNC": 0}, queue_kernel=())}
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]
    for shape in shapes:
        q, _ = bench.weights(shape)
        for m, xd in [(1, "float16"), (8, "float16"), (1, "float32")]:
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
            outs = {}
            for name, apply in settings.items():
                apply()
                outs[name] = mm.matmul(x, q[0], out=cp.full((m, shape[0]), cp.nan, dtype=xd))
            u = cp.uint16 if xd == "float16" else cp.uint32
            same = all(bool((o.view(u) == outs["base"].view(u)).all()) for o in outs.values())
            print(f"{shape} M={m} {xd}: every setting bit-identical to base: {same}", flush=True)

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%) {last['k'][0].split('_s')[-1]} {last['k'][1][0]}"
        return fn
    for rnd in range(2):
        for shape in shapes:
            for m, xd in [(1, "float16"), (4, "float16"), (8, "float16")] + ([(1, "float32")] if rnd == 0 else []):
                ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), settings)

if part in ("q", "qshapes"):
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)
    xsq, xs = module_setting(mm), module_setting(mm, queue_kernel=())

    def timed(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float16", None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%) {last['k'][0].split('_s')[-1]} {last['k'][1][0]}"
        return fn
    shapes = [(14336, 4096), (128256, 4096)] if part == "q" else \
        [(11008, 4096), (28672, 4096), (32000, 2048), (14336, 2048), (14336, 14336), (53248, 8192)]
    for rnd in range(3 if part == "q" else 2):
        order = {"xsq": xsq, "xs": xs} if rnd % 2 == 0 else {"xs": xs, "xsq": xsq}
        for shape in shapes:
            for m in ((1, 4, 8) if part == "q" else (1, 8)):
                ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} float16", timed(shape, m), order)

if part == "ncu":
    # six float16 x products on 128256 x 4096 at M = 1 (ncu --launch-skip 4
    # --launch-count 1): "_xsq" with PROBE_XSQ=1, else "_xs"
    import os

    import cupyquant.qmatmul as mm
    from test_bench_matmul import random_q4_0_device
    mm.MV_XS_QUEUE_KERNEL = ("float16",) if os.environ.get("PROBE_XSQ") == "1" else ()
    last = launch_spy(mm)
    w = random_q4_0_device(128256, 4096, seed=0)
    x = cp.random.standard_normal((1, 4096), dtype=cp.float32).astype(cp.float16)
    for _ in range(6):
        y = mm.matmul(x, w)
    cp.cuda.Device().synchronize()
    print("kernel", last["k"], flush=True)
