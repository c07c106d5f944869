"""Device probe, session 21 (H200).

    PYTHONPATH=. python notes/probe_s21.py nosum   # split-K without its sum: what a cheaper sum could give (run 1)
    PYTHONPATH=. python notes/probe_s21.py cluster # split-K summed in thread block clusters (run 2)
    PYTHONPATH=. python notes/probe_s21.py splits  # every K split count on one-tile-a-block shapes (run 3)
    PYTHONPATH=. python notes/probe_s21.py ab      # session 20's split rules against the new ones (run 5)
    PYTHONPATH=. python notes/probe_s21.py fence   # the global split-K sum's fences: one release-acquire atomic (run 7)

The parts ran at these commits: nosum f93e9b7, cluster 276c1f2 (clusters
then read the other splits' shared memory between two cluster barriers;
7fc7807 replaced that), splits 168c8d4, ab 7fc7807 (clusters on every split
grid; 2784f80 went back to one-wave grids), fence d9373e0.

Part "nosum": an upper bound for a split-K sum that costs nothing (the
thread block clusters idea of session 20's note: the K splits of a tile
summing through distributed shared memory instead of global memory). The
matrix-vector module is compiled a second time with the split-K sum cut out
of cq_mv_tc (the source text patched in this script: each split writes its
partial sums to the workspace, then exits: no fence, no counter, no last
block re-reading the partials; y is NOT written, so those outputs are
wrong). Timed (CUDA graphs, rotating weights, as the benchmark) with
MV_BLOCKS_PER_SM (bps) 0.5 (shipped: the one-wave shapes unsplit), 1.0 (two
splits, 512 thread blocks on 660 slots) and, on 4096 x 14336, 1.5 (three
splits: 768 blocks, more than one wave), with the sum ("sum") and without
("nosum"), two rounds in opposite orders.

Part "cluster": the K splits of a tile as one thread block cluster, summed by
split 0 out of the others' shared memory (MV_CLUSTER_MAX_SPLITS 8, shipped
candidate) against the global workspace sum (0), under MV_BLOCKS_PER_SM (and
its long-K twin) 0.5 / 1.0 / 1.5 (where the one-wave shapes split: 4096^2 in
two at 1.0, 4096 x 14336 at M >= 2 in two at 1.0 and three at 1.5). First
cluster against global sum at bps 1.0 and 1.5: outputs must be the same bits
(the same split order); then the benchmark's timing, two rounds in opposite
orders; the kernel and (grid, splits) each launch took are printed.

Part "splits": the matrix-vector plan with its K split count forced (1 to
6, and the plan's own), clusters where the grid is one wave (as shipped
after run 2), on shapes whose tiles are fewer than the resident thread
blocks. Beside each time, a model's makespan in stage times: the grid's
(tile, split) thread blocks, split s holding its stages, started in launch
order on the resident slots as slots free up.

Part "ab": the submitted plan rules (long-K split count from the model;
clusters on every split grid with a thread block a tile, the other splits
storing their sums into split 0's shared memory and leaving at once) against
the model without clusters and against session 20's rules
(MV_BLOCKS_PER_SM_LONG_K 1.5, no clusters), the same module, two rounds in
opposite orders, float16 x (float32 x on some shapes).

Part "fence": the global split-K sum (grids of more than one wave) with
thread 0's counter increment as a release-acquire atomic (shipped candidate)
against __threadfence() in every thread before the increment and after it
(the source text patched back in this script, a second module): outputs
must be the same bits; timing two rounds in opposite orders, with unsplit
shapes as controls (their kernels compiled with the other fence too).
"""
import sys

import cupy as cp

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab, launch_spy  # noqa: E402

part = sys.argv[1]

if part == "nosum":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from cupyquant.gpu.modules import get_function
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)
    src = mk.matmul_source()
    cut = "        if (n_split > 1) {\n            // Split-K: the last block"
    assert src.count(cut) == 1, "the split-K sum moved: update the probe"
    nosum_src = src.replace(cut, "        if (n_split > 1 && false) {\n            // Split-K: the last block")
    real = mm._function
    shipped = (mm.MV_BLOCKS_PER_SM, mm.MV_BLOCKS_PER_SM_LONG_K)

    def setting(bps, sum_):
        def apply():
            mm._function = real if sum_ else (lambda name: get_function("matmul:probe:nosum", nosum_src, name))
            mm.MV_BLOCKS_PER_SM = bps
            mm.MV_BLOCKS_PER_SM_LONG_K = bps if bps != shipped[0] else shipped[1]
            mm._mv_plans.clear()
        return apply

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%) {last['k'][1]}"
        return fn
    settings = {"0.5": setting(shipped[0], True), "1 sum": setting(1.0, True), "1 nosum": setting(1.0, False)}
    cases = [((4096, 4096), 1, "float16"), ((4096, 4096), 1, "float32"), ((4096, 4096), 8, "float16"),
             ((4096, 14336), 1, "float16"), ((4096, 14336), 1, "float32"), ((4096, 14336), 8, "float16"),
             ((4096, 14336), 4, "float16"), ((2048, 8192), 1, "float16"), ((4096, 11008), 1, "float16")]
    for rnd in range(2):
        order = settings if rnd == 0 else dict(list(settings.items())[::-1])
        for shape, m, xd in cases:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), order)
    extra = {"1.5 sum": setting(1.5, True), "1.5 nosum": setting(1.5, False)}
    for shape, m, xd in cases[3:7]:
        ab(f"bps1.5 {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), extra)
    setting(shipped[0], True)()

if part == "cluster":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench, random_q4_0_device
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    launched = {}
    real_launch = mm.launch

    def spy(kern, grid, *args, **kw):
        launched["k"] = (tuple(grid), "cl" if kw.get("cluster") else "gl")
        return real_launch(kern, grid, *args, **kw)
    mm.launch = spy
    shipped = (mm.MV_BLOCKS_PER_SM, mm.MV_BLOCKS_PER_SM_LONG_K, mm.MV_CLUSTER_MAX_SPLITS)

    def setting(bps, long_bps, clusters):
        def apply():
            mm.MV_BLOCKS_PER_SM, mm.MV_BLOCKS_PER_SM_LONG_K = bps, long_bps
            mm.MV_CLUSTER_MAX_SPLITS = 8 if clusters else 0
            mm._mv_plans.clear()
        return apply

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} {launched['k'][0]}{launched['k'][1]}"
        return fn
    for bps in (1.0, 1.5):
        for shape, m, xd in [((4096, 4096), 1, "float16"), ((4096, 4096), 8, "float16"), ((4096, 4096), 2, "float32"),
                             ((4096, 14336), 8, "float16"), ((4096, 14336), 4, "float32"), ((2050, 8192), 3, "float16")]:
            w = random_q4_0_device(*shape, seed=1)
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
            outs = []
            for cl in (False, True):
                setting(bps, bps, cl)()
                outs.append((mm.matmul(x, w).view(cp.uint16 if xd == "float16" else cp.uint32), launched["k"]))
            print(f"bps {bps} {shape} M={m} {xd}: cluster == global bits {bool((outs[0][0] == outs[1][0]).all())} "
                  f"{[k for _, k in outs]}", flush=True)
    settings = {"gl 0.5": setting(shipped[0], shipped[1], False), "cl 0.5": setting(shipped[0], shipped[1], True),
                "cl 1.0": setting(1.0, 1.0, True), "cl 1.5": setting(1.5, 1.5, True),
                "gl 1.0": setting(1.0, 1.0, False)}
    cases = [((4096, 4096), 1, "float16"), ((4096, 4096), 4, "float16"), ((4096, 4096), 8, "float16"),
             ((4096, 4096), 1, "float32"), ((4096, 4096), 4, "float32"),
             ((4096, 14336), 1, "float16"), ((4096, 14336), 2, "float16"), ((4096, 14336), 4, "float16"),
             ((4096, 14336), 8, "float16"), ((4096, 14336), 4, "float32"), ((4096, 14336), 8, "float32"),
             ((2048, 8192), 1, "float16"), ((4096, 11008), 8, "float16"), ((14336, 4096), 8, "float16")]
    for rnd in range(2):
        order = settings if rnd == 0 else dict(list(settings.items())[::-1])
        for shape, m, xd in cases:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), order)
    setting(*shipped[:2], True)()

def makespan(tiles, stage_counts, slots):
    """Stage times until the last thread block ends: blocks in launch order
    (every tile of split 0, then split 1, ...) on ``slots`` resident slots."""
    import heapq
    free = [0] * slots
    end = 0
    for st in stage_counts:
        for _ in range(tiles):
            t = heapq.heappop(free) + st
            end = max(end, t)
            heapq.heappush(free, t)
    return end


if part == "splits":
    import cupyquant.qmatmul as mm
    from gpu_timing import gpu_seconds_per_call
    from test_bench_matmul import get_bench, random_q4_0_device
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    launched = {}
    real_launch, real_splits, real_fit = mm.launch, mm._mv_splits, mm._mv_fit
    seen = {}

    def spy(kern, grid, *args, **kw):
        launched["k"] = (kern.name.replace("cq_q4_0_mv_tc_", ""), tuple(grid), "cl" if kw.get("cluster") else "gl")
        return real_launch(kern, grid, *args, **kw)
    mm.launch = spy

    def fit_spy(cp_, name, smem, sms, nb, tiles, kb, bps):
        kern, resident, sp = real_fit(cp_, name, smem, sms, nb, tiles, kb, bps)
        seen["resident"], seen["kb"] = resident, kb
        return kern, resident, sp
    mm._mv_fit = fit_spy
    forced = {}

    def forced_splits(nb, tiles, capacity, kb):
        if "s" not in forced:
            return real_splits(nb, tiles, capacity, kb)
        n_st = -(-nb // kb)
        sps = -(-n_st // min(forced["s"], n_st))
        return -(-n_st // sps), sps
    mm._mv_splits = forced_splits
    shapes = [(1024, 4096), (2048, 8192), (4096, 8192), (4096, 11008), (4096, 14336), (5120, 13824), (8192, 28672)]
    for n, k in shapes:
        w = [random_q4_0_device(n, k, seed=i) for i in range(max(2, -(-250 << 20) // (n * k // 32 * 18)))]
        for m in (1, 4, 8):
            x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(cp.float16)
            out = cp.empty((m, n), dtype=cp.float16)
            cells = []
            for s_ in (None, 1, 2, 3, 4, 5, 6):
                if s_ is None:
                    forced.clear()
                else:
                    forced["s"] = s_
                mm._mv_plans.clear()
                t, _, _ = gpu_seconds_per_call([lambda w_=w_: mm.matmul(x, w_, out=out) for w_ in w])
                name, (gx, sp), how = launched["k"]
                n_st = -(-(k // 32) // seen["kb"])
                sps = -(-n_st // sp)
                counts = [min(sps, n_st - i * sps) for i in range(sp)]
                tiles = -(-n // 16)
                ms = makespan(tiles, counts, seen["resident"]) if gx == tiles else None  # None: a queue
                cells.append(f"{'plan' if s_ is None else s_}:{t*1e6:.2f}us {sp}{how} ms={ms}")
                if s_ is not None and s_ >= n_st:
                    break
            print(f"{n}x{k} M={m} ({launched['k'][0]}, resident {seen['resident']}): " + " | ".join(cells), flush=True)
    mm._mv_splits, mm._mv_fit, mm.launch = real_splits, real_fit, real_launch

if part == "ab":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    launched = {}
    real_launch = mm.launch

    def spy(kern, grid, *args, **kw):
        launched["k"] = (tuple(grid), "cl" if kw.get("cluster") else "gl")
        return real_launch(kern, grid, *args, **kw)
    mm.launch = spy
    new = (mm.MV_BLOCKS_PER_SM_LONG_K, mm.MV_CLUSTER_MAX_SPLITS)

    def setting(long_bps, max_splits):
        def apply():
            mm.MV_BLOCKS_PER_SM_LONG_K, mm.MV_CLUSTER_MAX_SPLITS = long_bps, max_splits
            mm._mv_plans.clear()
        return apply

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} {launched['k'][0]}{launched['k'][1]}"
        return fn
    settings = {"s20": setting(1.5, 0), "model gl": setting(new[0], 0), "model cl": setting(*new)}
    cases = [(shape, m, "float16") for shape in [(1024, 4096), (2048, 8192), (4096, 11008), (5120, 13824),
                                                 (4096, 14336), (1024, 14336), (4096, 4096)] for m in (1, 4, 8)]
    cases += [((4096, 11008), 1, "float32"), ((4096, 11008), 4, "float32"), ((2048, 8192), 4, "float32"),
              ((4096, 14336), 4, "float32"), ((4096, 14336), 8, "float32")]
    for rnd in range(2):
        order = settings if rnd == 0 else dict(list(settings.items())[::-1])
        for shape, m, xd in cases:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), order)
    setting(*new)()

if part == "fence":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from cupyquant.gpu.modules import get_function
    from test_bench_matmul import get_bench, random_q4_0_device
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    launched = {}
    real_launch = mm.launch

    def spy(kern, grid, *args, **kw):
        launched["k"] = (tuple(grid), "cl" if kw.get("cluster") else "gl")
        return real_launch(kern, grid, *args, **kw)
    mm.launch = spy
    src = mk.matmul_source()
    new = """            __syncthreads();
            if (tid == 0) is_last = cq_atom_add_acq_rel_gpu(counters + tile, 1) == n_split - 1;
            __syncthreads();
            if (is_last) {
"""
    old = """            __threadfence();
            __syncthreads();
            if (tid == 0) is_last = atomicAdd(counters + tile, 1) == n_split - 1;
            __syncthreads();
            if (is_last) {
                __threadfence();
"""
    assert src.count(new) == 1, "the split-K sum moved: update the probe"
    old_src = src.replace(new, old)
    real = mm._function

    def setting(acq_rel):
        def apply():
            mm._function = real if acq_rel else (lambda name: get_function("matmul:probe:membar", old_src, name))
            mm._mv_plans.clear()
        return apply
    settings = {"acq_rel": setting(True), "membar": setting(False)}
    for shape, m, xd in [((4096, 14336), 8, "float16"), ((4096, 14336), 4, "float32"), ((1000, 14336), 3, "float16")]:
        w = random_q4_0_device(*shape, seed=2)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
        outs = []
        for apply in settings.values():
            apply()
            mm.MV_CLUSTER_MAX_SPLITS = 0 if shape[0] == 1000 else 8  # a one-wave grid with the global sum too
            outs.append(mm.matmul(x, w).view(cp.uint16 if xd == "float16" else cp.uint32))
        mm.MV_CLUSTER_MAX_SPLITS = 8
        print(f"{shape} M={m} {xd}: same bits {bool((outs[0] == outs[1]).all())} {launched['k']}", flush=True)

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} {launched['k'][0]}{launched['k'][1]}"
        return fn
    cases = [((4096, 14336), 2, "float16"), ((4096, 14336), 4, "float16"), ((4096, 14336), 8, "float16"),
             ((4096, 14336), 4, "float32"), ((4096, 14336), 8, "float32"), ((8192, 8192), 8, "float16"),
             ((4096, 4096), 1, "float16"), ((14336, 4096), 1, "float16"), ((128256, 4096), 1, "float16"),
             ((2048, 8192), 8, "float16")]
    for rnd in range(2):
        order = settings if rnd == 0 else dict(list(settings.items())[::-1])
        for shape, m, xd in cases:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), order)
    setting(True)()
