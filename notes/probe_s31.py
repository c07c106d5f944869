"""Session 31 probes (H200): where the one-row matrix-vector kernels' time goes
at M = 1, and whether copying the first weight stages into shared memory
before the grid dependency wait pays. Run from the repository root:

    python3 notes/probe_s31.py decomp:2        (run 1, the source of d755402)
    python3 notes/probe_s31.py check8 fill:2   (run 3, with CQ_MV_READ_ONLY_W in the x_shared kernels)
    python3 notes/probe_s31.py ro:2            (run 4, the bit in every tensor-core kernel)
    python3 notes/probe_s31.py m8:3            (run 5)
    python3 notes/probe_s31.py m8xr:3          (run 7)
    python3 notes/probe_s31.py xrshort:2       (run 8)

decomp[:rounds] The shipped x_shared one-row kernels ("_xs1" / "_xsq1") in
  modules compiled from text-patched copies of the shipped source, float16 x,
  M = 1, the benchmark's timing (graph replays, rotated weight buffers),
  settings in alternating order:
    ctrl      the shipped source in a module of its own (a comment prepended:
              the control for the module effect, notes/closing_s19.md);
    prewait   the first ST - 1 weight stages copied into shared memory
              before griddepcontrol.wait (the queue ticket after it). Valid
              only where the previous grid does not write the weights: the
              question is what that would gain;
    nomath    every Q4_0 block's decode, mma and scaling skipped (the weight
              and x-record shared loads go with them): the copies, the x
              records' fill, the barriers, the sum and the stores;
    nofill    the x records' fill skipped (the math reads whatever is there);
    neither   both skipped: the weight copies, barriers, sum and stores.
  The results of nomath / nofill / neither are wrong by construction; only
  their times are printed.
fill[:rounds] (run 2) The x records' fill with two 8-byte loads a record and
  shuffles ("fill8") against the shipped one of four 4-byte loads, each with
  the read-only bit (MV_READ_ONLY_EARLY) on and off; "nofill" as the bound.
check8: fill8's output bits against the shipped module's.
ro[:rounds] (run 4) MV_READ_ONLY_EARLY on / off on the shipped module.
m8[:rounds] (run 5) other plans for 4096 x 4096 at M = 8.
m8xr[:rounds] (run 7) the "_xr" kernel at K = 4096, M = 2-8.
xrshort[:rounds] (run 8) MV_X_RING_SHORT_SPLITS_FROM_M on / off at M = 8.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")

from probe_util import ab_rounds, bench_cell, launch_spy  # noqa: E402

WAIT_IN_WRAPPER = ("        CQ_MV_GRID_DEPENDENCY();"
                   "                                                                         \\\n")
TICKET = "if (use_queue && tid == 0) next = (int)gridDim.x + atomicAdd(queue, 1);"
FIRST_ISSUE = "            for (int i = 0; i < ST - 1; ++i) issue(i);\n        }\n"
DO_BLOCK = "auto do_block = [&](int bl, bool odd) {"
FILL = "cq_mv_fill_x<SPLIT3, AE>(xs, x, ldx, M, (cq_i64)st0 * KB, nbr);"


def sub(s, old, new):
    assert s.count(old) == 1, old
    return s.replace(old, new)


def probe_source() -> str:
    """The shipped matmul source without the int8 kernels and with float16
    output only (a third of the compile time; every variant, the control
    included, is compiled from this)."""
    import cupyquant.matmul_kernels as mk
    from cupyquant.hip import read_source
    src = "\n".join([read_source("common.h"), read_source(mk.COMMON_FILE), read_source(mk.SOURCE_FILE), ""])
    src = sub(src, "CQ_MATMUL_FOR_OUT(f32, float)\n", "")
    return sub(src, "CQ_MATMUL_FOR_OUT(bf16, cq_bf16)\n", "")


AE_FILL_START = "    if (AE) {\n        // Four words a record"
AE_FILL_END = "    } else {\n        for (int r = threadIdx.x; r < nbr * M * 4; r += CQ_MM_THREADS) {"
FILL8 = r"""    if (AE) {
        // probe_s31 fill8: two 8-byte loads a record (the block's values
        // 4t..4t+3 and 16+4t..16+4t+3: whole 32-byte sectors a warp load),
        // the aligned order's other two words from thread t+1 (mod 4) of the
        // same record group by a shuffle. Warp-uniform loop for the shuffles.
        const int total = nbr * M * 4;
        const int lane = threadIdx.x % CQ_WARP_SIZE;
        const int next_lane = (lane & ~3) | ((lane + 1) & 3);
#pragma unroll 4
        for (int base = threadIdx.x - lane; base < total; base += CQ_MM_THREADS) {
            const int r = base + lane;
            const bool ok = r < total;
            const int t = r & 3, bm = r >> 2, m = bm % M, b = bm / M;
            uint2 lo = make_uint2(0u, 0u), hi = lo;
            if (ok) {
                const cq_u16* src = x + (cq_i64)m * ldx + (b0 + b) * 32 + 4 * t;
                lo = *reinterpret_cast<const uint2*>(src);
                hi = *reinterpret_cast<const uint2*>(src + 16);
            }
            const cq_u32 nlo = CQ_SHFL(lo.x, next_lane), nhi = CQ_SHFL(hi.x, next_lane);
            const bool aligned = ((b0 + b) & 1) == 0;
            if (ok)
                records[((cq_i64)b * M + m) * 4 + t] = aligned ? cq_mv_record_f16_words(lo.y, nlo, hi.y, nhi)
                                                               : cq_mv_record_f16_words(lo.x, lo.y, hi.x, hi.y);
        }
"""


def patched(src: str, variant: str) -> str:
    if variant == "fill8":  # session 31 run 2: on the source with CQ_MV_READ_ONLY_W
        i, j = src.index(AE_FILL_START), src.index(AE_FILL_END)
        assert src.count(AE_FILL_START) == 1 and i < j
        return "// probe_s31 fill8\n" + src[:i] + FILL8 + src[j:]
    if variant == "ctrl":
        return "// probe_s31 control\n" + src
    if variant == "prewait":
        # x_shared kernels wait inside cq_mv_tc, after their first tile's first copies
        src = sub(src, WAIT_IN_WRAPPER, "        if (!(XS)) CQ_MV_GRID_DEPENDENCY(); \\\n")
        src = sub(src, TICKET, "if (use_queue && tid == 0 && !first) next = (int)gridDim.x + atomicAdd(queue, 1);")
        return sub(src, FIRST_ISSUE, FIRST_ISSUE + (
            "        if (XS && first) {\n"
            "            CQ_GRID_WAIT();\n"
            "            if (use_queue && tid == 0) next = (int)gridDim.x + atomicAdd(queue, 1);\n"
            "        }\n"))
    if variant in ("nomath", "neither"):
        src = sub(src, DO_BLOCK, DO_BLOCK + " if (XS) return;")
    if variant in ("nofill", "neither"):
        src = sub(src, FILL, "/* probe: no fill */")
    return "// probe_s31 " + variant + "\n" + src


def source_setting(mm, variant):
    from cupyquant.gpu.modules import get_function
    real = mm.__dict__.setdefault("_probe_real_function", mm._function)
    src = patched(probe_source(), variant)

    def apply():
        mm._function = real if variant == "shipped" else (lambda name: get_function("matmul:s31:" + variant, src, name))
        mm._mv_plans.clear()
    return apply


def part_decomp(rounds="2"):
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    cell = bench_cell(bench, launch_spy(mm))
    settings = {v: source_setting(mm, v) for v in ("ctrl", "prewait", "nomath", "nofill", "neither")}
    ab_rounds([(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)], [1], settings, cell, rounds)
    settings["shipped"] = source_setting(mm, "shipped")
    settings["shipped"]()


def part_fill(rounds="2"):
    """Run 2 (the source with CQ_MV_READ_ONLY_W): the read-only bit on / off
    (MV_READ_ONLY_EARLY) x the shipped fill / fill8, and nofill (read-only)
    as the bound; M = 1 and 4, float16 x."""
    from probe_util import knob_setting
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    cell = bench_cell(bench, launch_spy(mm))

    def both(*fns):
        def apply():
            for f in fns:
                f()
        return apply
    settings = {}
    for module in ("ctrl", "fill8"):
        for ro in (True, False):
            settings[f"{module}{'' if ro else '-rw'}"] = both(source_setting(mm, module),
                                                             knob_setting(mm, MV_READ_ONLY_EARLY=ro))
    settings["nofill"] = both(source_setting(mm, "nofill"), knob_setting(mm, MV_READ_ONLY_EARLY=True))
    ab_rounds([(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)], [1, 4], settings, cell, rounds)
    source_setting(mm, "shipped")()
    knob_setting(mm, MV_READ_ONLY_EARLY=True)()


def part_ro(rounds="2"):
    """Run 4 (every tensor-core matrix-vector kernel takes the bit): the
    shipped module with MV_READ_ONLY_EARLY on / off, float16 x at M = 1, 4,
    8 and 16, float32 x at M = 1 and 8."""
    from probe_util import knob_setting
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {"ro": knob_setting(mm, MV_READ_ONLY_EARLY=True), "rw": knob_setting(mm, MV_READ_ONLY_EARLY=False)}
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]
    ab_rounds(shapes, [1, 4, 8, 16], settings, bench_cell(bench, launched), rounds)
    ab_rounds(shapes, [1, 8], settings, bench_cell(bench, launched, "float32"), 1)
    settings["ro"]()


def part_m8(rounds="3"):
    """Run 5: 4096 x 4096 at M = 8 (float16 x; the one shape whose M = 8 / M = 1
    ratio went above 1.5 once M = 1 took the read-only bit, run 4) on other
    plans: x_shared records up to 64 KiB ("xs64"), the "_xr" kernel forced
    (as test_matvec_x_ring forces it), the (16, 64, 3) ring; M = 1 and
    4096 x 14336 as controls."""
    from probe_util import knob_setting
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    base = dict(MV_X_SHARED_MAX=dict(mm.MV_X_SHARED_MAX), MV_X_SHARED_MANY_TILES=dict(mm.MV_X_SHARED_MANY_TILES),
                MV_X_RING_MIN_STAGES=mm.MV_X_RING_MIN_STAGES, MV_X_RING_MIN_FILL=mm.MV_X_RING_MIN_FILL,
                MV_X_RING_MIN_WORK=mm.MV_X_RING_MIN_WORK, MV_GEOMETRY=None)
    settings = {
        "shipped": knob_setting(mm, **base),
        "xs64": knob_setting(mm, **{**base, "MV_X_SHARED_MAX": {"float16": 64 << 10, "float32": 96 << 10}}),
        "xr": knob_setting(mm, **{**base, "MV_X_SHARED_MAX": {}, "MV_X_SHARED_MANY_TILES": {},
                                  "MV_X_RING_MIN_STAGES": 1, "MV_X_RING_MIN_FILL": 0.0, "MV_X_RING_MIN_WORK": 0.0}),
        "geo3": knob_setting(mm, **{**base, "MV_GEOMETRY": (16, 64, 3)}),
    }
    ab_rounds([(4096, 4096), (4096, 14336)], [1, 8], settings, bench_cell(bench, launched), rounds)
    settings["shipped"]()


def part_m8xr(rounds="3"):
    """Run 7: the "_xr" kernel on K = 4096 (MV_LONG_K lowered to 4096, the
    x-ring rule's other limits off, x_shared off) against the shipped plan,
    float16 x, M = 2, 4, 8, on 4096 x 4096 (run 5's "xr" cell never took the
    kernel: the rule wants K >= MV_LONG_K) and 2048 x 4096."""
    from probe_util import knob_setting
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    base = dict(MV_X_SHARED_MAX=dict(mm.MV_X_SHARED_MAX), MV_X_SHARED_MANY_TILES=dict(mm.MV_X_SHARED_MANY_TILES),
                MV_X_RING_MIN_STAGES=mm.MV_X_RING_MIN_STAGES, MV_X_RING_MIN_FILL=mm.MV_X_RING_MIN_FILL,
                MV_X_RING_MIN_WORK=mm.MV_X_RING_MIN_WORK, MV_LONG_K=mm.MV_LONG_K)
    settings = {
        "shipped": knob_setting(mm, **base),
        "xr": knob_setting(mm, MV_X_SHARED_MAX={}, MV_X_SHARED_MANY_TILES={}, MV_X_RING_MIN_STAGES=1,
                           MV_X_RING_MIN_FILL=0.0, MV_X_RING_MIN_WORK=0.0, MV_LONG_K=4096),
    }
    ab_rounds([(4096, 4096), (2048, 4096)], [2, 4, 8], settings, bench_cell(bench, launched), rounds)
    settings["shipped"]()


def part_xrshort(rounds="2"):
    """Run 8: the shipped rule (MV_X_RING_SHORT_SPLITS_FROM_M = 8) against it
    off (99), float16 x, M = 8 (and 4096^2 at M = 4, unchanged by it)."""
    from probe_util import knob_setting
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {"rule": knob_setting(mm, MV_X_RING_SHORT_SPLITS_FROM_M=8),
                "off": knob_setting(mm, MV_X_RING_SHORT_SPLITS_FROM_M=99)}
    cell = bench_cell(bench, launched)
    ab_rounds([(4096, 4096), (3072, 4096), (4096, 8192), (4096, 11008)], [8], settings, cell, rounds)
    ab_rounds([(4096, 4096)], [4], settings, cell, 1)
    settings["rule"]()


def part_check8():
    """fill8 gives the shipped bits (read-only weights, under PDL and not)."""
    import cupy as cp
    from test_bench_matmul import random_q4_0_device

    import cupyquant.qmatmul as mm
    for n, k in [(4096, 4096), (4133, 4096), (30000, 4096), (1000, 14336), (4096, 14336)]:
        w = random_q4_0_device(n, k, seed=n + k)
        x = cp.random.standard_normal((1, k), dtype=cp.float32).astype(cp.float16)
        outs = {}
        for v in ("shipped", "fill8"):
            for pdl in ("never", "always"):
                source_setting(mm, v)()
                mm.MATVEC_PDL = pdl
                outs[v, pdl] = mm.matmul(x, w)
        mm.MATVEC_PDL = "capture"
        ref = outs["shipped", "never"]
        same = {f"{v}/{p}": bool((o == ref).all()) for (v, p), o in outs.items()}
        print(f"{n}x{k}: same bits as shipped/never {same}", flush=True)
    source_setting(mm, "shipped")()


def part_check():
    """prewait gives the shipped bits (same arithmetic, copies moved)."""
    import cupy as cp
    from test_bench_matmul import random_q4_0_device

    import cupyquant.qmatmul as mm
    for n, k in [(4096, 4096), (4133, 4096), (30000, 4096), (1000, 14336)]:
        w = random_q4_0_device(n, k, seed=n + k)
        x = cp.random.standard_normal((1, k), dtype=cp.float32).astype(cp.float16)
        outs = {}
        for v in ("shipped", "prewait"):
            source_setting(mm, v)()
            outs[v] = mm.matmul(x, w)
        print(f"{n}x{k}: prewait same bits {bool((outs['shipped'] == outs['prewait']).all())}", flush=True)
    source_setting(mm, "shipped")()


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        name, _, val = arg.partition(":")
        print(f"=== {arg}", flush=True)
        globals()[f"part_{name}"](*([val] if val else []))
