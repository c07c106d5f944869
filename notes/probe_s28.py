"""Session 28 device probes (H200). Usage: python3 notes/probe_s28.py PART[:ARG] ...

readocc        A read of the benchmark's weight buffers shaped like the M = 1
               matrix-vector grid of 4096 x 4096 / 4096 x 14336: 256 thread
               blocks, each its own contiguous share, with and without
               dynamic shared memory that caps the occupancy at 2 thread
               blocks an SM (256 of 264 slots, as a grid sized to the SMs
               would hold), launched plain or with PDL (trigger + wait, or
               trigger + L2 prefetch + wait). Session 27's read filled every
               slot (4-16 an SM); this is the read the one-wave matrix-vector
               grids could at best become.
cap[:rounds]   The matrix-vector plan where its grid leaves resident slots
               free (one wave, one K split), with the dynamic shared memory
               raised so that exactly ceil(thread blocks / SMs) fit on an SM:
               the grid then fills every slot, so the next grid's thread
               blocks cannot crowd onto the SMs with room (session 15's reason
               for keeping early scheduling off those grids). Settings:
               shipped; "cap" (no early bit); "cap+early" (the early bit: L2
               prefetch of the first stage before the wait, trigger once the
               last weight copy is issued); "cap+trig0" (also the module
               compiled with CQ_MV_EARLY_TRIGGER=1: trigger at the start).
               float16 x (and float32 x at M = 1), the benchmark's timing,
               alternating order.
capab[:rounds] The shipped plan with MV_CAP_OCCUPANCY on / off (run 3 on: the
               cap and early path as implemented in qmatmul; "capab:final",
               run 5: the final code, which caps cluster grids too, on four
               shapes at M = 1 and 4), float16 x at
               M = 1, 2, 4, 8 and float32 x at M = 1 on one-wave shapes, and
               14336 x 4096 as the control (a full grid, unchanged).
capgeo[:rounds] One-wave M = 1 / 2 grids on the (16, 64, 3) ring (MV_GEOMETRY
               forced: the generic x_shared kernel, two stages in flight
               while one is used) against the shipped (16, 64, 2) one-row
               kernel (one stage in flight; 4096 x 4096's two stages take two
               round trips), with the cap on, and (16, 64, 3) with it off.
capcl[:rounds] The cap also on one-wave grids whose K splits run as thread
               block clusters (the shipped cap leaves split grids alone): the
               cluster plan's shared memory raised to fit ceil(thread blocks /
               SMs) an SM where every cluster is still resident, the early bit
               set; against the shipped plan.
m1split[:rounds] M = 1 (float16 x) with more K splits now that one-wave
               cluster grids take the early path: MV_BLOCKS_PER_SM 0.5
               (shipped: 4096 x 14336 is not split) against 1.0 and 2.0.
pf[:rounds]    CQ_MV_PF_STAGES (weight stages a thread block asks L2 for
               before its wait on the early path) 1 (shipped) against 2 and 4,
               now that one-wave grids take the early path too.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")

READ_SRC = r"""
#define LAUNCH_DEPENDENTS() asm volatile("griddepcontrol.launch_dependents;" ::: "memory")
#define WAIT() asm volatile("griddepcontrol.wait;" ::: "memory")
// Thread block b reads 16-byte pieces [b * per_block, (b + 1) * per_block).
// mode: 0 nothing, 1 launch_dependents + wait, 3 launch_dependents + L2
// prefetch of the thread's loads + wait
extern "C" __global__ void read_share(const uint4* __restrict__ p, long long n, long long per_block,
                                      unsigned* out, int mode) {
    extern __shared__ unsigned pad[];  // only there to cap the occupancy
    const long long b0 = (long long)blockIdx.x * per_block;
    const long long b1 = b0 + per_block < n ? b0 + per_block : n;
    if (mode == 1 || mode == 3) LAUNCH_DEPENDENTS();
    if (mode == 3)
        for (long long j = b0 + threadIdx.x; j < b1; j += blockDim.x)
            asm volatile("prefetch.global.L2 [%0];" :: "l"(p + j));
    if (mode >= 1) WAIT();
    unsigned acc = 0;
    long long i = b0 + threadIdx.x;
    const int s = blockDim.x;
    for (; i + 3 * s < b1; i += 4 * s) {
        const uint4 a = p[i], b = p[i + s], c = p[i + 2 * s], d = p[i + 3 * s];
        acc ^= a.x ^ a.y ^ a.z ^ a.w ^ b.x ^ b.y ^ b.z ^ b.w ^ c.x ^ c.y ^ c.z ^ c.w ^ d.x ^ d.y ^ d.z ^ d.w;
    }
    for (; i < b1; i += s) { const uint4 a = p[i]; acc ^= a.x ^ a.y ^ a.z ^ a.w; }
    if (acc == 0x9e3779b9u) { pad[threadIdx.x] = acc; out[0] = pad[threadIdx.x ^ 1]; }  // never in practice
}
"""


def _smem_for(cp, ptr, per_sm, threads=256):
    """The least dynamic shared memory (128-byte steps down from the most)
    with which at most ``per_sm`` thread blocks of ``ptr`` fit an SM."""
    occ = cp.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor
    if occ(ptr, threads, 0) <= per_sm:
        return 0
    # (the kernel must allow that much: with less, the query answers 0)
    top = min(cp.cuda.Device().attributes["MaxSharedMemoryPerBlockOptin"], (228 << 10) // per_sm - 1024)
    smem = top - top % 128
    while smem > 0 and occ(ptr, threads, smem - 128) <= per_sm:
        smem -= 128
    return smem


def part_readocc():
    import cupy as cp
    import numpy as np
    from cupyquant.gpu.launch import launch
    from gpu_timing import gpu_seconds_per_call
    from test_bench_matmul import get_bench
    bench = get_bench()
    copy = bench.ceiling()
    read = cp.RawKernel(READ_SRC, "read_share", options=("-std=c++17",))
    read.max_dynamic_shared_size_bytes = cp.cuda.Device().attributes["MaxSharedMemoryPerBlockOptin"]
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    out = cp.zeros(1, cp.uint32)
    smem2 = _smem_for(cp, read.kernel.ptr if hasattr(read, "kernel") else read.ptr, 2)
    print(f"copy {copy / 1e9:.0f} GB/s; {sms} SMs; 2 an SM with {smem2} bytes of shared memory", flush=True)
    modes = {0: "plain", 1: "trig+wait", 3: "trig+pf+wait"}
    for shape in [(4096, 4096), (4096, 14336)]:
        q, _ = bench.weights(shape)
        nbytes = q[0].nbytes
        n = nbytes // 16
        for blocks, smem, label in ((256, 0, "256 blocks, uncapped"), (256, smem2, "256 blocks, 2 an SM"),
                                    (2 * sms, smem2, f"{2 * sms} blocks, 2 an SM")):
            per_block = -(-n // blocks)
            cells = []
            for mode, mlabel in modes.items():
                calls = [lambda w=w, mode=mode, smem=smem, per_block=per_block, blocks=blocks:
                         launch(read, (blocks,), (256,), (w.data, np.int64(n), np.int64(per_block), out,
                                                          np.int32(mode)), shared_mem=smem, pdl=mode > 0)
                         for w in q]
                t, how, _ = gpu_seconds_per_call(calls)
                cells.append(f"{mlabel} {t * 1e6:.2f} ({nbytes / t / copy * 100:.0f}%)")
            print(f"{shape[0]}x{shape[1]} read, {label}: " + " | ".join(cells), flush=True)


def cap_setting(mm, early: bool, capped: bool = True):
    """Apply: _mv_plan wrapped so that one-wave, one-split grids that leave
    slots free get the dynamic shared memory that fits exactly ceil(thread
    blocks / SMs) of them an SM, and count as full (early bit under PDL) when
    ``early``."""
    import cupy as cp
    real = mm.__dict__.setdefault("_probe_real_mv_plan", mm._mv_plan)

    def plan(cp_, x_dtype, y_dtype, mc, nb, tiles, n_tiles, sms):
        p = real(cp_, x_dtype, y_dtype, mc, nb, tiles, n_tiles, sms)
        kern, geo, smem, grid_x, splits, sps, x_shared, full = p
        per_sm = -(-grid_x * splits // sms)
        if full or splits != 1 or mm._occupancy(cp, kern, smem) <= per_sm:
            return p
        ptr = kern.kernel.ptr if hasattr(kern, "kernel") else kern.ptr
        mm._set_max_dynamic_smem(cp, kern, cp.cuda.Device().attributes["MaxSharedMemoryPerBlockOptin"])
        new = max(smem, _smem_for(cp, ptr, per_sm))
        k2 = mm._kernel_with_smem(cp, kern.name, new)
        if cp.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(ptr, 256, new) != per_sm:
            print(f"  (cap: {kern.name} {new} bytes does not give {per_sm} an SM)", flush=True)
            return p
        return (k2, geo, new, grid_x, splits, sps, x_shared, early)

    def apply():
        mm._mv_plan = plan if capped else real
        mm._mv_plans.clear()
    return apply


def part_cap(rounds=2):
    import cupyquant.qmatmul as mm
    from probe_util import ab_rounds, bench_cell, launch_spy, module_setting
    from test_bench_matmul import get_bench
    bench = get_bench()
    launched = launch_spy(mm)
    shipped_mod = module_setting(mm)
    trig0_mod = module_setting(mm, {"CQ_MV_EARLY_TRIGGER": 1})

    def both(*fns):
        def apply():
            for f in fns:
                f()
        return apply
    settings = {
        "shipped": both(shipped_mod, cap_setting(mm, False, capped=False)),
        "cap": both(shipped_mod, cap_setting(mm, False)),
        "cap+early": both(shipped_mod, cap_setting(mm, True)),
        "cap+trig0": both(trig0_mod, cap_setting(mm, True)),
    }
    cell = bench_cell(bench, launched)

    def cell_smem(shape, m):
        fn = cell(shape, m)

        def run():
            s = fn()
            plan = next(iter(mm._mv_plans.values()), None)
            return s + (f" smem {plan[2]}" if plan else "")
        return run
    ab_rounds([(4096, 4096), (4096, 14336)], (1, 2, 4, 8), settings, cell_smem, rounds)
    ab_rounds([(2048, 8192), (5120, 13824), (8192, 8192), (14336, 4096)], (1,), settings, cell_smem, 1)
    f32 = bench_cell(bench, launched, "float32")

    def cell_f32(shape, m):
        fn = f32(shape, m)
        return lambda: fn() + " (float32 x)"
    ab_rounds([(4096, 4096), (4096, 14336)], (1,), settings, cell_f32, rounds)
    settings["shipped"]()


def part_capab(rounds=2):
    import cupyquant.qmatmul as mm
    from probe_util import ab_rounds, bench_cell, knob_setting, launch_spy
    from test_bench_matmul import get_bench
    bench = get_bench()
    launched = launch_spy(mm)
    settings = {"cap": knob_setting(mm, MV_CAP_OCCUPANCY=True), "off": knob_setting(mm, MV_CAP_OCCUPANCY=False)}
    cell = bench_cell(bench, launched)

    def with_smem(base):
        def make(shape, m):
            fn = base(shape, m)

            def run():
                s = fn()
                plans = [p for k, p in mm._mv_plans.items() if k[-1] == mm.MV_CAP_OCCUPANCY and k[3] == m
                         and k[4] * 32 == shape[1]]
                return s + (f" smem {plans[-1][2]}" if plans else "")
            return run
        return make
    if rounds == "final":  # run 5: the final code (clusters capped too), fewer cells
        ab_rounds([(1024, 4096), (2048, 8192), (4096, 14336), (4096, 4096)], (1, 4), settings, with_smem(cell), 1)
        settings["cap"]()
        return
    ab_rounds([(4096, 4096), (4096, 14336)], (1, 2, 4, 8), settings, with_smem(cell), rounds)
    ab_rounds([(2048, 8192), (3072, 8192), (5120, 13824), (8192, 8192), (8192, 28672), (14336, 4096)], (1, 4),
              settings, with_smem(cell), 1)
    f32 = bench_cell(bench, launched, "float32")
    ab_rounds([(4096, 4096), (4096, 14336)], (1,), settings, with_smem(f32), rounds)
    settings["cap"]()


def part_capgeo(rounds=2):
    import cupyquant.qmatmul as mm
    from probe_util import ab_rounds, bench_cell, knob_setting, launch_spy
    from test_bench_matmul import get_bench
    bench = get_bench()
    launched = launch_spy(mm)
    settings = {"cap (16,64,2)": knob_setting(mm, MV_CAP_OCCUPANCY=True, MV_GEOMETRY=None),
                "cap (16,64,3)": knob_setting(mm, MV_CAP_OCCUPANCY=True, MV_GEOMETRY=(16, 64, 3)),
                "off (16,64,3)": knob_setting(mm, MV_CAP_OCCUPANCY=False, MV_GEOMETRY=(16, 64, 3))}
    ab_rounds([(4096, 4096), (4096, 14336), (8192, 8192)], (1, 2), settings, bench_cell(bench, launched), rounds)
    settings["cap (16,64,2)"]()


def part_capcl(rounds=2):
    import cupy as cp
    import cupyquant.qmatmul as mm
    from probe_util import ab_rounds, bench_cell, launch_spy
    from test_bench_matmul import get_bench
    bench = get_bench()
    launched = launch_spy(mm, with_cluster=True)
    real = mm.__dict__.setdefault("_probe_real_plan_clusters", mm._mv_plan_clusters)
    optin = cp.cuda.Device().attributes["MaxSharedMemoryPerBlockOptin"]

    def capped(cp_, plan, mc, tiles, sms, dev):
        p = real(cp_, plan, mc, tiles, sms, dev)
        kern, geo, smem, grid_x, splits, sps, x_shared, full, cluster = p
        if not cluster or full:
            return p
        q = mm._mv_cap_occupancy(cp, (kern, geo, smem, grid_x * splits, 1, sps, x_shared, full), sms, optin)
        if q[2] == smem or mm._clusters_resident(cp, q[0], q[2], splits, sms) < grid_x:
            return p
        return (q[0], geo, q[2], grid_x, splits, sps, x_shared, True, True)

    def setting(on):
        def apply():
            mm._mv_plan_clusters = capped if on else real
            mm._mv_plans.clear()
        return apply
    settings = {"shipped": setting(False), "capcl": setting(True)}
    cell = bench_cell(bench, launched)

    def with_smem(shape, m):
        fn = cell(shape, m)

        def run():
            s = fn()
            plans = [p for k, p in mm._mv_plans.items() if k[3] == m and k[4] * 32 == shape[1]]
            return s + (f" smem {plans[-1][2]} full {plans[-1][7]}" if plans else "")
        return run
    ab_rounds([(1024, 4096), (2048, 4096), (2048, 8192)], (1, 4, 8), settings, with_smem, rounds)
    ab_rounds([(4096, 14336), (4096, 11008)], (2, 4, 8), settings, with_smem, rounds)
    settings["shipped"]()


def part_m1split(rounds=1):
    import cupyquant.qmatmul as mm
    from probe_util import ab_rounds, bench_cell, knob_setting, launch_spy
    from test_bench_matmul import get_bench
    bench = get_bench()
    launched = launch_spy(mm, with_cluster=True)
    settings = {f"bps{bps:g}": knob_setting(mm, MV_BLOCKS_PER_SM=bps) for bps in (0.5, 1.0, 2.0)}
    ab_rounds([(4096, 14336), (5120, 13824), (3072, 8192), (4096, 4096)], (1,), settings,
              bench_cell(bench, launched), rounds)
    settings["bps0.5"]()


def part_pf(rounds=2):
    import cupyquant.qmatmul as mm
    from probe_util import ab_rounds, bench_cell, launch_spy, module_setting
    from test_bench_matmul import get_bench
    bench = get_bench()
    launched = launch_spy(mm)
    settings = {"pf1": module_setting(mm), "pf2": module_setting(mm, {"CQ_MV_PF_STAGES": 2}),
                "pf4": module_setting(mm, {"CQ_MV_PF_STAGES": 4})}
    ab_rounds([(4096, 4096), (4096, 14336), (3072, 8192)], (1, 4), settings, bench_cell(bench, launched), rounds)
    ab_rounds([(14336, 4096), (128256, 4096)], (1,), settings, bench_cell(bench, launched), rounds)
    settings["pf1"]()


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        name, _, val = arg.partition(":")
        print(f"=== {arg}", flush=True)
        globals()[f"part_{name}"](*([val] if val else []))
