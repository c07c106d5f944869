"""Session 31 probes (H200): where the one-row matrix-vector kernels' time goes
at M = 1, and whether copying the first weight stages into shared memory
before the grid dependency wait pays. Run from the repository root:

    python3 notes/probe_s31.py decomp:2

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


def patched(src: str, variant: str) -> str:
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
