"""Device probe, session 24 (H200).

    PYTHONPATH=. python notes/probe_s24.py mc [ROUNDS]   # wgmma 64-row blocks: x multicast in pairs against not

Part "mc": M = 512 (and 300 / 384) on the 64-row, two-warpgroup wgmma
blocks (the plan of 4096-row weights at K <= 6144), launched plain
(WGMMA_R64_MULTICAST off) or as clusters of two along the weight rows that
share their activation rows, each thread block copying half of every x
stage and the TMA multicasting it into both ("mc": half the x reads from
L2). Session 18's ncu put the top stalls of these blocks on the x
mbarriers; L2 throughput 48% at full clocks (notes/h200_s18 run 8). The
benchmark's timing (CUDA-graph replays over rotating weight buffers) and
its cuBLAS ratio; rounds in alternating order.
"""
import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab  # noqa: E402

part = sys.argv[1]

if part == "mc":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    bench = get_bench()
    launched = {}
    real_launch = mm.launch

    def spy(kern, grid, *args, **kw):
        launched["k"] = (kern.name.replace("cq_q4_0_mm_wgmma_", ""), tuple(grid), kw.get("cluster"))
        return real_launch(kern, grid, *args, **kw)
    mm.launch = spy

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
