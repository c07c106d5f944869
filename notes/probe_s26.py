"""Session 26 device probes (H200). Usage: python3 notes/probe_s26.py PART[:ARG] ...

rule[:rounds]  the "_xr" plan rule of this session (MV_X_RING_MIN_STAGES = 7,
               MV_X_RING_MIN_FILL = 0.7, sms // tiles splits) against MV_X_RING
               off, "_xr" forced at the same splits whatever the limits
               ("ring"), and session 25's rule ("s25": round(sms / tiles)
               splits, 4 stages, no fill limit), float16 x, the benchmark's
               timing, alternating order.
m1n            M = 1 float16 at K = 4096 over N (the plan's kernels), beside a
               plain read kernel of the same weight buffers: where the gap to
               the read ceiling comes from (fixed cost or rate).
xrclu          "_xr" forced (any split length, any fill) with its split sums in
               clusters where the plan allows them ("ring") against the global
               sum ("ringg", MV_CLUSTER_MAX_SPLITS = 0) and MV_X_RING off: run 2
               had 2048 x 28672 (4 splits) 35% slower than off at M = 2 / 4 but
               22% faster at M = 8, where the sums' bytes rule clusters out.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")


def part_rule(rounds=2):
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from probe_util import ab, launch_spy
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    shipped = (mm._mv_x_ring_splits, mm.MV_X_RING_MIN_STAGES, mm.MV_X_RING_MIN_FILL)

    def s25_splits(nb, tiles_r, sms):
        n_st = -(-nb // mk.MV_X_RING_GEOMETRY[1])
        sps = -(-n_st // max(1, min(n_st, round(sms / tiles_r))))
        return -(-n_st // sps), sps

    def setting(on, splits_fn, min_stages, min_fill):
        def apply():
            mm.MV_X_RING = on
            mm._mv_x_ring_splits, mm.MV_X_RING_MIN_STAGES, mm.MV_X_RING_MIN_FILL = splits_fn, min_stages, min_fill
            mm._mv_plans.clear()
        return apply
    settings = {"plan": setting(True, *shipped), "off": setting(False, *shipped),
                "ring": setting(True, shipped[0], 1, 0.0), "s25": setting(True, s25_splits, 4, 0.0)}

    def timed(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float16", None)
            k = launched["k"]
            return f"{r['time_us']:.2f} {k[0].split('_n1_')[-1]} {k[1]}"
        return fn
    shapes = [(4096, 14336), (3072, 14336), (3584, 18944), (2048, 28672), (6144, 14336), (5120, 13824),
              (5504, 14336), (4096, 11008), (4096, 8192), (2048, 16384), (8192, 28672)]
    for rnd in range(int(rounds)):
        for shape in shapes:
            for m in (2, 4, 8):
                order = dict(settings) if rnd % 2 == 0 else dict(reversed(list(settings.items())))
                ab(f"r{rnd} {shape[0]}x{shape[1]} M={m}", timed(shape, m), order)
    settings["plan"]()


READ_SRC = r"""
extern "C" __global__ void read_all(const uint4* __restrict__ p, long long n, unsigned* out) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    unsigned acc = 0;
    for (; i + 3 * stride < n; i += 4 * stride) {
        const uint4 a = p[i], b = p[i + stride], c = p[i + 2 * stride], d = p[i + 3 * stride];
        acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
    }
    for (; i < n; i += stride) { const uint4 a = p[i]; acc ^= a.x ^ a.y ^ a.z ^ a.w; }
    if (acc == 0x9e3779b9u) out[0] = acc;  // never in practice; keeps the loads
}
"""


def part_m1n():
    import cupy as cp
    from gpu_timing import gpu_seconds_per_call
    from test_bench_matmul import get_bench
    bench = get_bench()
    copy = bench.ceiling()
    print(f"copy {copy / 1e9:.0f} GB/s", flush=True)
    read = cp.RawKernel(READ_SRC, "read_all")
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    out = cp.zeros(1, cp.uint32)
    for n in (1024, 2048, 4096, 8192, 14336, 28672, 57344, 128256):
        shape = (n, 4096)
        r, _ = bench.measure(shape, 1, "float16", None)
        q, _ = bench.weights(shape)
        nbytes = q[0].nbytes
        cells = []
        for per_sm in (4, 8, 16):
            calls = [lambda w=w, g=sms * per_sm: read((g,), (256,), (w.data, nbytes // 16, out)) for w in q]
            t, _, _ = gpu_seconds_per_call(calls)
            cells.append(f"read x{per_sm} {t * 1e6:.2f}")
        print(f"{n}x4096 ({nbytes / 1e6:.1f} MB): matvec {r['time_us']:.2f} us ({r['frac_copy'] * 100:.1f}%) | "
              + " | ".join(cells), flush=True)


def part_xrclu():
    import cupyquant.qmatmul as mm
    from probe_util import ab, launch_spy
    from test_bench_matmul import get_bench
    bench = get_bench()
    launched = launch_spy(mm, with_cluster=True)

    def setting(on, clusters):
        def apply():
            mm.MV_X_RING, mm.MV_X_RING_MIN_STAGES, mm.MV_X_RING_MIN_FILL = on, 1, 0.0
            mm.MV_CLUSTER_MAX_SPLITS = clusters
            mm._mv_plans.clear()
        return apply
    settings = {"ring": setting(True, 8), "ringg": setting(True, 0), "off": setting(False, 8)}

    def timed(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float16", None)
            k = launched["k"]
            return f"{r['time_us']:.2f} {k[0].split('_n1_')[-1]} {k[1]} {k[2]}"
        return fn
    for shape in [(2048, 28672), (2048, 16384), (4096, 14336), (1024, 32768)]:
        for m in (2, 4, 8):
            ab(f"{shape[0]}x{shape[1]} M={m}", timed(shape, m), settings)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        name, _, val = arg.partition(":")
        print(f"=== {arg}", flush=True)
        globals()[f"part_{name}"](*([val] if val else []))
