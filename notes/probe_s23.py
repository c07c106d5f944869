"""Device probe, session 23 (H200).

    PYTHONPATH=. python notes/probe_s23.py m1      # one-row matrix-vector kernels against the generic ones
    PYTHONPATH=. python notes/probe_s23.py m1b     # the same, "gen" against "one" only, more rounds
    PYTHONPATH=. python notes/probe_s23.py rt32    # M = 4 / 8: tiles of 32 weight rows, every split count
    PYTHONPATH=. python notes/probe_s23.py geo16   # the same for the compiled 16-row geometries, K = 14336
    PYTHONPATH=. python notes/probe_s23.py ncu N K  # M = 1 float16 products of one shape, for ncu
    PYTHONPATH=. python notes/probe_s23.py fill [ROUNDS [SHAPES]]  # one-row kernels: x records 8 at a time against 4

Part "m1": float16 x, M = 1, on the x_shared kernels (the benchmark's plans):
  "gen"  the generic kernels ("_xs", "_xsq"; MV_ONE_ROW_KERNEL off),
  "one"  the one-row kernels as shipped ("_xs1", "_xsq1": only B column 0's
         accumulators, even blocks read in the aligned k order),
  "m1n"  the one-row kernels without the aligned order (AE off; instantiated
         here into the same module as "_xs1n", "_xsq1n"),
all in one module. Part "m1b": "gen" and "one" only, four rounds in
alternating order (run 2: "one" with the fill of four records at a time).
Part "rt32": float16 x at M = 4 and 8 read x from global memory (L1 / L2)
once a tile and block, so x's traffic into the SMs is twice the weights'
there (x 512 bytes a block at M = 8, the weights of 16 rows 288). Tiles of
32 rows halve it. The kernels of geometry (32, 64, 2) and (32, 32, 3) are
instantiated here (not shipped) and forced through MV_GEOMETRY; each split
count 1-6 forced beside the plan's own; the shipped plan for reference.

Part "geo16": as "rt32" for the compiled geometries of 16 rows, on
4096 x 14336 (whose plan splits its 7 stages of 64 blocks 3 / 3 / 1) and
4096 x 11008.

Part "ncu": eight float16 M = 1 products of N x K (the shipped plan), for
ncu to profile one of them.

Part "fill": the one-row kernels with their x records filled eight at a
time (the working tree of 56044ce, where it ran as run 7) against four
(the source text patched back, a second module): M = 1 float16, rounds in
alternating order. Run 6's ncu put 14% of the warp samples of "_xs1" on
4096 x 14336 on the fill's wait for x (seven records a thread there: two
round trips with four). Eight were not faster (run 7), and the submitted
source fills four at a time again, so this part now stops at its assert.

First the outputs of the three against a float64
reference; then the benchmark's timing (CUDA-graph replays over rotating
weight buffers), three rounds in rotated orders.
"""
import sys

import cupy as cp
import numpy as np

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab, launch_spy  # noqa: E402

part = sys.argv[1]


def m1_timer(bench, launched):
    """shape -> a cell function for probe_util.ab: the benchmark's time of a
    float16 M = 1 product, its fraction of the copy, the kernel's suffix."""
    def timed(shape):
        def fn():
            r, _ = bench.measure(shape, 1, "float16", None)
            return f"{r['time_us']:.2f} ({100 * r['frac_copy']:.1f}%) {launched['k'][0].split('_s2')[-1]}"
        return fn
    return timed

if part in ("m1", "m1b"):
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench, random_q4_0_device
    mk.EXTRA_INSTANTIATIONS = r"""
#define PROBE_M1N(ON, OT, XQ, XSUF)                                                                       \
    extern "C" __global__ void __launch_bounds__(CQ_MM_THREADS, CQ_MV_MIN_BLOCKS)                        \
        cq_q4_0_mv_tc_f16_##ON##_n1_r16_k64_s2##XSUF(                                                   \
            const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb, const cq_u16* __restrict__ x,  \
            cq_i64 ldx, int M, OT* __restrict__ y, cq_i64 ldy, int mode, int stages_per_split,          \
            float* __restrict__ ws, int* __restrict__ counters) {                                       \
        if (mode & CQ_MV_EARLY) cq_mv_prefetch_first<16, 64>(w, row_bytes, N, nb, stages_per_split);    \
        CQ_MV_GRID_DEPENDENCY();                                                                         \
        cq_mv_tc<false, 1, OT, 16, 64, 2, true, XQ, CQ_MV_XS_COPY_WARPS, true, false>(                 \
            w, row_bytes, N, nb, x, ldx, M, y, ldy, mode, stages_per_split, ws, counters);             \
    }
PROBE_M1N(f16, cq_f16, false, _xs1n)
PROBE_M1N(f16, cq_f16, true, _xsq1n)
PROBE_M1N(f32, float, false, _xs1n)
PROBE_M1N(f32, float, true, _xsq1n)
"""
    launched = launch_spy(mm)
    real_kws = mm._kernel_with_smem

    def setting(one_row, no_ae=False):
        def kws(cp_, name, smem, function=None):
            if no_ae and name.endswith("1") and "_xs" in name:
                name += "n"
            return real_kws(cp_, name, smem, function)

        def apply():
            mm.MV_ONE_ROW_KERNEL = one_row
            mm._kernel_with_smem = kws
            mm._mv_plans.clear()
        return apply
    settings = {"gen": setting(False), "one": setting(True), "m1n": setting(True, True)}
    if part == "m1b":
        del settings["m1n"]
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096), (28672, 4096), (14336, 14336),
              (32000, 2048)]
    rng = np.random.default_rng(0)
    for n, k in [(4096 + 37, 4096), (30000, 4096), (2000, 14336)]:
        w = random_q4_0_device(n, k, seed=3)
        from cupyquant import FORMATS
        w64 = FORMATS["Q4_0"].decode(cp.asnumpy(w.data)).reshape(n, k).astype(np.float64)
        x = cp.asarray(rng.standard_normal((1, k)).astype(np.float16))
        ref = cp.asnumpy(x).astype(np.float64) @ w64.T
        cells, ys = [], {}
        for name, apply in settings.items():
            apply()
            y = cp.asnumpy(mm.matmul(x, w, out=cp.full((1, n), np.nan, cp.float32), path="matvec_f16tc"))
            ys[name] = y
            cells.append(f"{name} {launched['k'][0]} err {np.linalg.norm(y - ref) / np.linalg.norm(ref):.2e}")
        same = {a: bool((ys[a] == ys["gen"]).all()) for a in settings if a != "gen"}
        print(f"{n}x{k}: " + " | ".join(cells) + f" | same bits as gen {same}", flush=True)
    bench = get_bench()
    timed = m1_timer(bench, launched)
    names = list(settings)
    for rnd in range(3 if part == "m1" else 4):
        r = rnd % len(names)
        order = {nm: settings[nm] for nm in names[r:] + names[:r]}
        for shape in shapes:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M=1 f16", timed(shape), order)
    print(f"copy ceiling {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    settings["one"]()

if part in ("rt32", "geo16"):
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench, random_q4_0_device
    geos = [(32, 64, 2), (32, 32, 3)] if part == "rt32" else [(16, 64, 2), (16, 32, 3), (16, 64, 3)]
    if part == "rt32":
        mk.EXTRA_INSTANTIATIONS = "".join(f"CQ_MV_TC_KERNEL(f16, false, 1, f16, cq_f16, {r}, {kb}, {st})\n"
                                      f"CQ_MV_TC_KERNEL(f16, false, 1, f32, float, {r}, {kb}, {st})\n"
                                      for r, kb, st in geos)
    extra = frozenset(mk.mv_tc_name("float16", o, 1, g) for g in geos for o in ("float16", "float32"))
    real_names = mm._compiled_kernel_names
    mm._compiled_kernel_names = lambda: real_names() | extra
    launched = launch_spy(mm)
    real_model = mm._mv_splits_makespan
    forced = {}

    def model(nb, tiles, resident, kb, clusters=False):
        if "splits" not in forced:
            return real_model(nb, tiles, resident, kb, clusters)
        n_st = -(-nb // kb)
        sps = -(-n_st // forced["splits"])
        return -(-n_st // sps), sps
    mm._mv_splits_makespan = model
    rng = np.random.default_rng(1)
    shipped_xs, shipped_many = dict(mm.MV_X_SHARED_MAX), dict(mm.MV_X_SHARED_MANY_TILES)
    from cupyquant import FORMATS
    for geo in geos:  # accuracy of the probe kernels (float32 out), split in two
        n, k = 1000, 14336
        w = random_q4_0_device(n, k, seed=5)
        w64 = FORMATS["Q4_0"].decode(cp.asnumpy(w.data)).reshape(n, k).astype(np.float64)
        for m in (1, 8):
            x = cp.asarray(rng.standard_normal((m, k)).astype(np.float16))
            ref = cp.asnumpy(x).astype(np.float64) @ w64.T
            mm.MV_GEOMETRY, mm.MV_X_SHARED_MAX, mm.MV_X_SHARED_MANY_TILES = geo, {}, {}
            forced["splits"] = 2
            mm._mv_plans.clear()
            y = cp.asnumpy(mm.matmul(x, w, out=cp.full((m, n), np.nan, cp.float32), path="matvec_f16tc"))
            print(f"{geo} {n}x{k} M={m}: {launched['k']} err {np.linalg.norm(y - ref) / np.linalg.norm(ref):.2e}",
                  flush=True)
    bench = get_bench()

    def run(shape, m, geo, splits):
        mm.MV_GEOMETRY = geo
        mm.MV_X_SHARED_MAX = shipped_xs if geo is None else {}
        mm.MV_X_SHARED_MANY_TILES = shipped_many if geo is None else {}
        forced.clear()
        if splits:
            forced["splits"] = splits
        mm._mv_plans.clear()
        r, _ = bench.measure(shape, m, "float16", None)
        return f"{r['time_us']:.2f} {launched['k'][0].split('_n1_')[-1]} {launched['k'][1]}"
    shapes = [(4096, 14336), (4096, 4096), (14336, 4096), (4096, 11008)] if part == "rt32" else \
        [(4096, 14336), (4096, 11008)]
    for rnd in range(int(sys.argv[2]) if len(sys.argv) > 2 else 1):
        for shape in shapes:
            for m in (8, 4):
                cells = [f"shipped {run(shape, m, None, None)}"]
                for geo in geos:
                    cells.append(f"{geo} plan {run(shape, m, geo, None)}")
                    for sp in range(1, 7):
                        cells.append(f"{sp}: {run(shape, m, geo, sp)}")
                print(f"r{rnd} {shape[0]}x{shape[1]} M={m}: " + " | ".join(cells), flush=True)
    mm.MV_GEOMETRY, mm.MV_X_SHARED_MAX, mm.MV_X_SHARED_MANY_TILES = None, shipped_xs, shipped_many

if part == "ncu":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import random_q4_0_device
    n, k = int(sys.argv[2]), int(sys.argv[3])
    w = random_q4_0_device(n, k, seed=7)
    x = cp.random.standard_normal((1, k), dtype=cp.float32).astype(cp.float16)
    for _ in range(8):
        mm.matmul(x, w)
    cp.cuda.runtime.deviceSynchronize()
    print("plan", list(mm._mv_plans.values())[-1][0].name, flush=True)

if part == "fill":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from cupyquant.gpu.modules import get_function
    from test_bench_matmul import get_bench
    new = "#pragma unroll 8\n        for (int r = threadIdx.x; r < nbr * M * 4; r += CQ_MM_THREADS) {"
    src = mk.matmul_source()
    assert src.count(new) == 1, "the fill loop moved: update the probe"
    old = src.replace(new, new.replace("unroll 8", "unroll 4"))
    real = mm._function
    launched = launch_spy(mm)

    def setting(eight):
        def apply():
            mm._function = real if eight else (lambda name: get_function("matmul:probe:fill4", old, name))
            mm._mv_plans.clear()
        return apply
    settings = {"u8": setting(True), "u4": setting(False)}
    timed = m1_timer(get_bench(), launched)
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    shapes = [(4096, 14336), (4096, 4096), (14336, 4096), (14336, 14336), (128256, 4096)]
    for rnd in range(rounds):
        order = settings if rnd % 2 == 0 else dict(list(settings.items())[::-1])
        for shape in shapes[:int(sys.argv[3])] if len(sys.argv) > 3 else shapes:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M=1 f16", timed(shape), order)
    settings["u8"]()
