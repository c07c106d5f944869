"""Session 27 device probes (H200). Usage: python3 notes/probe_s27.py PART[:ARG] ...

xrst[:rounds]  "_xr" grids of 3 or more K splits (split sums through the
               global workspace since session 26's cluster cap) at 1-6 stages
               a split: forced ("ring", MV_X_RING_MIN_STAGES = 1) against the
               shipped plan (7 stages) and MV_X_RING off, float16 x, the
               benchmark's timing, alternating order. 2-split grids of 4
               stages as the control (session 26: slower or equal there).
xrplan[:rounds] the shipped plan (run 1's rule: MV_X_RING_MIN_WORK for
               grids of 3 or more splits) against MV_X_RING off on xrst's
               shapes and three the rule now takes that run 1 did not time
               (512 x 16384, 2048 x 14336, 2304 x 9216).
readpdl        M = 1 float16 matrix-vector (the plan) beside a plain read of
               the same weight buffers, the read launched five ways: plain;
               PDL with launch_dependents + wait at its start; PDL with wait
               only; PDL with launch_dependents, an L2 prefetch of its share,
               then wait; and PDL with no wait at all (not a valid design,
               nothing orders it after the previous kernel: the upper bound of
               overlapping consecutive kernels). How far the 60% / 85% goals
               of issue 5 are from what any kernel timed this way can reach.
early[:rounds] the matrix-vector module compiled with CQ_MV_EARLY_TRIGGER=1
               (every matrix-vector grid launched with PDL lets the next one
               be scheduled from its start) against the shipped module, on
               the benchmark's shapes at M = 1 / 4 / 8, float16 x: readpdl
               found that trigger worth 8-16% to a plain read.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")


def part_xrst(rounds=2):
    import cupyquant.qmatmul as mm
    from probe_util import ab_rounds, bench_cell, launch_spy
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm, with_cluster=True)

    def setting(on, min_stages):
        def apply():
            mm.MV_X_RING, mm.MV_X_RING_MIN_STAGES = on, min_stages
            mm._mv_plans.clear()
        return apply
    settings = {"plan": setting(True, 7), "ring": setting(True, 1), "off": setting(False, 7)}

    # (splits, stages a split) on 132 SMs in the comments
    shapes = [(2048, 16384),   # 4 x 4
              (1024, 32768),   # 8 x 4
              (2560, 10240),   # 3 x 4 (ceil(10 / 3))
              (1536, 16384),   # 4 x 4, 96 thread blocks
              (2048, 11008),   # 4 x 3
              (2048, 8192),    # 4 x 2
              (1536, 8960),    # 5 x 2
              (1024, 16384),   # 8 x 2
              (1024, 8192),    # 8 x 1
              (2048, 28672),   # 4 x 7: the shipped plan, re-timed
              (3072, 8192),    # 2 x 4: control
              (4096, 8192)]    # 2 x 4: control
    ab_rounds(shapes, (2, 4, 8), settings, bench_cell(bench, launched), rounds)
    settings["plan"]()


def part_xrplan(rounds=2):
    import cupyquant.qmatmul as mm
    from probe_util import ab_rounds, bench_cell, launch_spy
    from test_bench_matmul import get_bench
    bench = get_bench()
    launched = launch_spy(mm, with_cluster=True)

    def setting(on):
        def apply():
            mm.MV_X_RING = on
            mm._mv_plans.clear()
        return apply
    settings = {"plan": setting(True), "off": setting(False)}
    shapes = [(2048, 16384), (1024, 32768), (2560, 10240), (1536, 16384), (2048, 11008), (2048, 8192),
              (1536, 8960), (1024, 16384), (1024, 8192), (2048, 28672), (3072, 8192), (4096, 8192),
              (512, 16384), (2048, 14336), (2304, 9216)]
    ab_rounds(shapes, (2, 4, 8), settings, bench_cell(bench, launched), rounds)
    settings["plan"]()


def part_early(rounds=2):
    import cupyquant.qmatmul as mm
    from probe_util import ab_rounds, bench_cell, launch_spy, module_setting
    from test_bench_matmul import get_bench
    bench = get_bench()
    launched = launch_spy(mm)
    settings = {"shipped": module_setting(mm), "early": module_setting(mm, {"CQ_MV_EARLY_TRIGGER": 1})}
    ab_rounds([(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)], (1, 4, 8), settings,
              bench_cell(bench, launched), rounds)
    settings["shipped"]()


READ_SRC = r"""
#define LAUNCH_DEPENDENTS() asm volatile("griddepcontrol.launch_dependents;" ::: "memory")
#define WAIT() asm volatile("griddepcontrol.wait;" ::: "memory")
// mode: 0 nothing, 1 launch_dependents + wait, 2 wait, 3 launch_dependents +
// L2 prefetch of the thread's loads + wait, 4 launch_dependents only
extern "C" __global__ void read_all(const uint4* __restrict__ p, long long n, unsigned* out, int mode) {
    const long long stride = (long long)gridDim.x * blockDim.x;
    const long long i0 = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (mode == 1 || mode == 3 || mode == 4) LAUNCH_DEPENDENTS();
    if (mode == 3)
        for (long long j = i0; j < n; j += stride)
            asm volatile("prefetch.global.L2 [%0];" :: "l"(p + j));
    if (mode >= 1 && mode <= 3) WAIT();
    long long i = i0;
    unsigned acc = 0;
    for (; i + 3 * stride < n; i += 4 * stride) {
        const uint4 a = p[i], b = p[i + stride], c = p[i + 2 * stride], d = p[i + 3 * stride];
        acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
    }
    for (; i < n; i += stride) { const uint4 a = p[i]; acc ^= a.x ^ a.y ^ a.z ^ a.w; }
    if (acc == 0x9e3779b9u) out[0] = acc;  // never in practice; keeps the loads
}
"""


def part_readpdl():
    import cupy as cp
    import numpy as np
    from cupyquant.gpu.launch import launch, pdl_usable
    from gpu_timing import gpu_seconds_per_call
    from test_bench_matmul import get_bench
    bench = get_bench()
    copy = bench.ceiling()
    print(f"copy {copy / 1e9:.0f} GB/s; pdl usable {pdl_usable(cp.cuda.runtime.getDevice())}", flush=True)
    read = cp.RawKernel(READ_SRC, "read_all", options=("-std=c++17",))
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    out = cp.zeros(1, cp.uint32)
    modes = {0: "plain", 1: "trig+wait", 2: "wait", 3: "trig+pf+wait", 4: "trig,no wait"}
    for shape in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]:
        r, _ = bench.measure(shape, 1, "float16", None)
        q, _ = bench.weights(shape)
        nbytes = q[0].nbytes
        print(f"{shape[0]}x{shape[1]} ({nbytes / 1e6:.1f} MB, {len(q)} buffers): matvec M=1 {r['time_us']:.2f} us "
              f"({r['frac_copy'] * 100:.1f}%)", flush=True)
        for per_sm in (4, 8, 16):
            cells = []
            for mode, label in modes.items():
                calls = [lambda w=w, g=sms * per_sm, mode=mode:
                         launch(read, (g,), (256,), (w.data, np.int64(nbytes // 16), out, np.int32(mode)),
                                pdl=mode > 0) for w in q]
                t, how, _ = gpu_seconds_per_call(calls)
                cells.append(f"{label} {t * 1e6:.2f} ({nbytes / t / copy * 100:.0f}%)")
            print(f"  read x{per_sm}/SM: " + " | ".join(cells), flush=True)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        name, _, val = arg.partition(":")
        print(f"=== {arg}", flush=True)
        globals()[f"part_{name}"](*([val] if val else []))
