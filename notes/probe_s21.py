"""Device probe, session 21 (H200).

    PYTHONPATH=. python notes/probe_s21.py nosum   # split-K without its sum: what a cheaper sum could give (run 1)

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
