"""Device probe, session 24 (H200).

    PYTHONPATH=. python notes/probe_s24.py mc [ROUNDS]   # wgmma 64-row blocks: x multicast in pairs against not
    PYTHONPATH=. python notes/probe_s24.py xs8 [ROUNDS]  # M = 4 / 8, long K: x_shared records of one K split
    PYTHONPATH=. python notes/probe_s24.py epi [ROUNDS]  # wgmma: float16 y through shared memory or direct
    PYTHONPATH=. python notes/probe_s24.py b6 [ROUNDS]   # M = 4 / 8: (16, 32, 3) at six thread blocks an SM

Part "mc": M = 512 (and 300 / 384) on the 64-row, two-warpgroup wgmma
blocks (the plan of 4096-row weights at K <= 6144), launched plain
(WGMMA_R64_MULTICAST off) or as clusters of two along the weight rows that
share their activation rows, each thread block copying half of every x
stage and the TMA multicasting it into both ("mc": half the x reads from
L2). Session 18's ncu put the top stalls of these blocks on the x
mbarriers; L2 throughput 48% at full clocks (notes/h200_s18 run 8). The
benchmark's timing (CUDA-graph replays over rotating weight buffers) and
its cuBLAS ratio; rounds in alternating order. The "_mc" kernels and the
knob ran at eedb3ae (run 2; run 1 at a57c044, whose arrivals and waits had
cluster scope); they were 5-6% slower and were taken out again after run 2,
so this part needs that tree.

Part "xs8": float16 x, M = 8 and 4, K = 14336 / 11008 on 4096 rows. The
shipped plan reads x from L1 / L2 in every thread block (512 bytes a Q4_0
block at M = 8, against 288 of weights for 16 rows); x_shared records of all
of K would be 229 KB. Forced here: the queue kernel "_xsq" ((16, 64, 2))
with the records of one K split only (S splits: 131 / 98 / 66 / 33 KB at
M = 8 for S = 2 / 3 / 4 / 7), persistent thread blocks (as many as are
resident, split evenly over the splits) taking tiles of their split from
its queue, so each fills its records once for several tiles; the split
sums through the global workspace. First the error against float64 of each
setting, then the benchmark's timing.

Part "epi": float16 x and y on the wgmma kernels, one module: the shipped
epilogue of unsplit launches (y through shared memory: stmatrix, then 16-byte
stores of whole rows; CQ_WG_EPI_SMEM) against the direct one-element stores
from the mma layout (instantiated here as "_old" kernels). Split launches
take the direct path either way (4096 x 14336 at M = 512: a control).

Part "b6": float16 x, M = 8 and 4 on 4096 rows. The plan's kernels (48
registers, five thread blocks an SM) split 4096 x 14336 in three: 768
thread blocks on 660 slots, two waves and the global sum (session 21
measured 20.1 against 22.5 us with the sum cut out). The (16, 32, 3) kernel
bounded to six an SM (40 registers, no spills with nvcc 13; 28 KiB of
stages) has 792 slots: three splits in one wave, as clusters where the
driver places them all. Instantiated here ("_b6"); forced with S splits
(clusters by the plan's own rule) against the shipped plan.
"""
import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab, launch_spy  # noqa: E402

part = sys.argv[1]

if part == "mc":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    bench = get_bench()
    launched = launch_spy(mm, "cq_q4_0_mm_wgmma_", with_cluster=True)

    def setting(on):
        def apply():
            mm.WGMMA_R64_MULTICAST = on
        return apply

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            k = launched["k"]
            return f"{r['time_us']:.2f} ({r['ratio_to_cublas']:.3f}) {k[0].split('_n256')[-1] or 'r128'} {k[2]}"
        return fn
    cases = [((4096, 4096), 512, "float16"), ((4096, 4096), 512, "float32"), ((4096, 4096), 384, "float16"),
             ((4096, 4096), 300, "float16"), ((4096, 6144), 512, "float16")]
    for rnd in range(rounds):
        for shape, m, xd in cases:
            order = {"plain": setting(False), "mc": setting(True)}
            if rnd % 2:
                order = dict(reversed(list(order.items())))
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), order)


def forced_split_runs(build, launched, rounds, check_counts, time_counts):
    """Parts "xs8" and "b6": while a split count is forced, the plan of
    float16 x at M >= 2 is build(cp, plan, mc, tiles, sms, dev, splits, nb)
    (else the shipped one); first each count's error against float64 on
    4133 x 14336 at M = 8 / 4, then rounds of the benchmark's timing in
    alternating order."""
    import cupy as cp
    import numpy as np
    import cupyquant.qmatmul as mm
    from cupyquant import FORMATS
    from test_bench_matmul import get_bench, random_q4_0_device
    bench = get_bench()
    real_plan = mm._mv_plan_clusters
    force = {"splits": None}

    def plan_clusters(cp_, plan, mc, tiles, sms, dev):
        if force["splits"] is None or mc < 2:
            return real_plan(cp_, plan, mc, tiles, sms, dev)
        return build(cp_, plan, mc, tiles, sms, dev, force["splits"], force["nb"])
    mm._mv_plan_clusters = plan_clusters

    def setting(splits, nb):
        def apply():
            force["splits"] = splits
            force["nb"] = nb
            mm._mv_plans.clear()
        return apply

    def kernel():
        k = launched["k"]
        return " ".join([k[0].split("_n1_")[-1]] + [str(v) for v in k[1:]])

    def timed(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float16", None)
            return f"{r['time_us']:.2f} {kernel()}"
        return fn
    rng = np.random.default_rng(0)
    n, k = 4096 + 37, 14336
    w = random_q4_0_device(n, k, seed=5)
    w64 = FORMATS["Q4_0"].decode(cp.asnumpy(w.data)).reshape(n, k).astype(np.float64)
    for m in (8, 4):
        x = cp.asarray(rng.standard_normal((m, k)).astype(np.float16))
        ref = cp.asnumpy(x).astype(np.float64) @ w64.T
        cells = []
        for s_ in (None,) + tuple(check_counts):
            setting(s_, k // 32)()
            y = cp.asnumpy(mm.matmul(x, w, out=cp.full((m, n), np.nan, cp.float32), path="matvec_f16tc"))
            cells.append(f"{s_} {kernel()} err {np.linalg.norm(y - ref) / np.linalg.norm(ref):.2e}")
        print(f"{n}x{k} M={m}: " + " | ".join(cells), flush=True)
    cases = [((4096, 14336), 8), ((4096, 14336), 4), ((4096, 11008), 8)]
    for rnd in range(rounds):
        for shape, m in cases:
            order = {"plan": setting(None, shape[1] // 32)}
            for s_ in time_counts:
                order[f"S{s_}"] = setting(s_, shape[1] // 32)
            if rnd % 2:
                order = dict(reversed(list(order.items())))
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m}", timed(shape, m), order)
    setting(None, 0)()

if part == "xs8":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm

    def build_xsq(cp_, plan, mc, tiles, sms, dev, splits_req, nb):
        """The queue kernel with the records of one of splits_req K splits."""
        y_dtype = {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[plan[0].name.split("_")[6]]
        geo = mk.MV_QUEUE_GEOMETRY
        n_st = -(-nb // geo[1])
        sps = -(-n_st // splits_req)
        splits = -(-n_st // sps)
        name = mk.mv_tc_name("float16", y_dtype, 1, geo, x_shared=True, queue=True)
        smem = mk.mv_x_shared_offset(*geo) + mk.mv_x_shared_bytes(mc, sps * geo[1])
        kern = mm._kernel_with_smem(cp_, name, smem)
        resident = mm._occupancy(cp_, kern, smem) * sms
        grid_x = max(1, min(tiles, resident // splits))
        return kern, geo, smem, grid_x, splits, sps, True, grid_x >= resident // splits, False
    forced_split_runs(build_xsq, launch_spy(mm), int(sys.argv[2]) if len(sys.argv) > 2 else 3,
                      (2, 3, 4, 7), (2, 3, 4, 7))

if part == "epi":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from cupyquant.gpu.modules import compile_options, get_function
    from test_bench_matmul import get_bench
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    bench = get_bench()
    launched = launch_spy(mm, "cq_q4_0_mm_wgmma_")
    extra = r"""
#define PROBE_OLD(SUF, OT, BN, ROWS, WGS, RSUF)                                                           \
    extern "C" __global__ void __launch_bounds__(128 * (WGS), CQ_MM_WGMMA_BLOCKS(BN, ROWS))                 \
    cq_q4_0_mm_wgmma_tma_##SUF##_n##BN##RSUF##_old(const CQ_GRID_CONSTANT cq_tensor_map xmap,               \
                                             const CQ_GRID_CONSTANT cq_tensor_map wmap,                     \
                                             const cq_u8* __restrict__ w, cq_i64 row_bytes, int N, int nb,  \
                                             const cq_u16* __restrict__ x, cq_i64 ldx, int M,               \
                                             OT* __restrict__ y, cq_i64 ldy, int stages_per_split,           \
                                             float* __restrict__ ws, int* __restrict__ counters) {          \
        cq_mm_wgmma<OT, BN, true, ROWS, WGS, false>(w, row_bytes, N, nb, x, ldx, M, y, ldy, stages_per_split, \
                                                    ws, counters, &xmap, &wmap);                            \
    }
PROBE_OLD(f16, cq_f16, 256, 64, 2, _r64x2)
PROBE_OLD(f16, cq_f16, 256, 128, 2, )
PROBE_OLD(f16, cq_f16, 128, 128, 2, )
PROBE_OLD(f16, cq_f16, 64, 128, 2, )
"""
    text = mk.matmul_sm90_source() + extra
    old_names = {f"cq_q4_0_mm_wgmma_tma_f16_n{w}" for w in (64, 128, 256)} | {"cq_q4_0_mm_wgmma_tma_f16_n256_r64x2"}
    opts = compile_options(mk.SM90_OPTIONS)

    def setting(old):
        def apply():
            mm._sm90_function = lambda name: get_function(
                mk.SM90_MODULE_KEY + ":probe:epi", text, name + ("_old" if old and name in old_names else ""), opts)
        return apply

    def timed(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float16", None)
            return f"{r['time_us']:.2f} ({r['ratio_to_cublas']:.3f}) {launched['k'][0]} {launched['k'][1]}"
        return fn
    cases = [((4096, 4096), 512), ((14336, 4096), 512), ((4096, 14336), 512), ((128256, 4096), 512),
             ((14336, 4096), 64), ((14336, 4096), 128), ((4096, 4096), 300)]
    for rnd in range(rounds):
        for shape, m in cases:
            order = {"smem": setting(False), "direct": setting(True)}
            if rnd % 2:
                order = dict(reversed(list(order.items())))
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m}", timed(shape, m), order)

if part == "b6":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    mk.EXTRA_INSTANTIATIONS = r"""
CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 32, 3, false, false, CQ_MM_THREADS / 32, _b6, 6, false)
CQ_MV_TC_KERNEL_XQ(f16, false, 1, f32, float, 16, 32, 3, false, false, CQ_MM_THREADS / 32, _b6, 6, false)
"""

    def build_b6(cp_, plan, mc, tiles, sms, dev, splits_req, nb):
        """The "_b6" kernel in splits_req K splits, clusters by the plan's own rule."""
        y_dtype = {"f32": "float32", "f16": "float16"}[plan[0].name.split("_")[6]]
        geo = (16, 32, 3)
        n_st = -(-nb // geo[1])
        sps = -(-n_st // splits_req)
        splits = -(-n_st // sps)
        smem = mk.mv_smem_bytes(*geo)
        kern = mm._kernel_with_smem(cp_, mk.mv_tc_name("float16", y_dtype, 1, geo) + "_b6", smem)
        resident = mm._occupancy(cp_, kern, smem) * sms
        return mm_real_plan(cp_, (kern, geo, smem, tiles, splits, sps, False, tiles * splits >= resident), mc,
                            tiles, sms, dev)
    mm_real_plan = mm._mv_plan_clusters
    forced_split_runs(build_b6, launch_spy(mm, with_cluster=True), int(sys.argv[2]) if len(sys.argv) > 2 else 3,
                      (3,), (2, 3, 4))
