"""Session 34 device probes (H200). Run from the repository root, with
.probe/s33_q4_0_matmul.hip (session 33's q4_0_matmul.hip, commit 77df932:
`git show 77df932:cupyquant/hip/q4_0_matmul.hip`) carried along:

    python3 notes/probe_s34.py precompile check m1copy:2 rows:2     (run 1)
    python3 notes/probe_s34.py precompile:shipped band:3             (run 2)
    python3 notes/probe_s34.py precompile:f32rt f32rt:2              (run 4)
    python3 notes/probe_s34.py precompile:f32rt f32rt2:2             (run 5)

precompile  the shipped module and "s33" (common.h, q4_0_mm_common.hip and
  session 33's q4_0_matmul.hip, float16 output only) compiled at once in
  subprocesses (CuPy's disk cache then serves the probe and the tests).
check       float16 x: the shipped kernels' output against s33's, same
  inputs, M = 1 (the shipped "_xsq1c" where the tiles are few, else
  "_xsq1"), 2, 4 ("_xsq" without the copy branch) and 8 ("_xsqc"); prints
  whether the bits are equal.
m1copy[:rounds]  float16 x, M = 1, the shipped module on the shapes whose grid
  has a queue: "_xsq1c" forced (MV_ONE_ROW_COPY_FILL_BAND (0, 1e9); runs 1-2 ran
  this with the earlier knob MV_ONE_ROW_COPY_FILL_TILES 1e9) against "_xsq1"
  ((0, 0); then 0), with the tiles-per-thread-block ratio of each shape.
band[:rounds]  m1copy on K = 4096 shapes of 1.04 to 1.55 tiles a thread block
  (11008 to 16384 rows) and 18944 x 3584.
f32rt[:rounds]  float32 x, M = 8 (the xprep kernel's parts, two column
  tiles, x read from global memory by every 16-row tile): the shipped plan's
  (16, 64, 2) against larger row tiles, so that each thread block's x reads
  serve more weight rows (its 16-row tiles' warps share them through L1):
  (64, 32, 2), (32, 64, 2), (64, 32, 3), (32, 32, 3), compiled as extra
  kernels of the "f32rt" module (the trimmed source, float32 output), the
  plan for float32 x from 5 rows replaced by one of that geometry (K split
  as _mv_fit splits it). Outputs checked against the shipped plan's first
  (float32 roundings apart: the K interleaves differ).
f32rt2[:rounds]  f32rt's "base", (32, 64, 2) and (32, 32, 3) on more row
  counts (where the tiles outnumber the resident thread blocks), M = 6, 8.
rows[:rounds]  float16 x, M = 1, 2, 4, 8: the shipped package (defaults) against
  s33's module under s33's choices ("_xsq" with the copy branch compiled in,
  "_xsq1" at one row).
"""

from __future__ import annotations

import os
import subprocess
import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")

from probe_util import ab_rounds, bench_cell, launch_spy  # noqa: E402

OLD_FILE = ".probe/s33_q4_0_matmul.hip"
QUEUE_SHAPES = [(11008, 4096), (14336, 4096), (18944, 3584), (28672, 4096), (32000, 4096), (128256, 4096)]


def s33_source() -> str:
    import cupyquant.matmul_kernels as mk
    from cupyquant.hip import read_source
    with open(OLD_FILE) as f:
        old = f.read()
    for line in ("CQ_MATMUL_FOR_OUT(f32, float)\n", "CQ_MATMUL_FOR_OUT(bf16, cq_bf16)\n"):
        assert old.count(line) == 1, line
        old = old.replace(line, "")
    return "// probe_s34 s33\n" + "\n".join([read_source("common.h"), read_source(mk.COMMON_FILE), old, ""])


def setting(mm, name):
    """Apply: "shipped" (the package, its defaults) or "s33" (session 33's
    module and choices); the cached plans dropped."""
    from cupyquant.gpu.modules import get_function
    real = mm.__dict__.setdefault("_probe_real_function", mm._function)
    defaults = mm.__dict__.setdefault("_probe_defaults", (mm.MV_XS_COPY_FILL_FROM_M, mm.MV_ONE_ROW_COPY_FILL_BAND))
    src = s33_source() if name == "s33" else None

    def apply():
        if src is None:
            mm._function = real
            mm.MV_XS_COPY_FILL_FROM_M, mm.MV_ONE_ROW_COPY_FILL_BAND = defaults
        else:
            mm._function = lambda k: get_function("matmul:s34:s33", src, k)
            mm.MV_XS_COPY_FILL_FROM_M, mm.MV_ONE_ROW_COPY_FILL_BAND = 99, (0, 0)
        mm._mv_plans.clear()
    return apply


F32RT_GEOMETRIES = [(64, 32, 2), (32, 64, 2), (64, 32, 3), (32, 32, 3)]


def f32rt_source() -> str:
    import cupyquant.matmul_kernels as mk
    from cupyquant.hip import read_source
    src = "\n".join([read_source("common.h"), read_source(mk.COMMON_FILE), read_source(mk.SOURCE_FILE), ""])
    for line in ("CQ_MATMUL_FOR_OUT(f16, cq_f16)\n", "CQ_MATMUL_FOR_OUT(bf16, cq_bf16)\n"):
        assert src.count(line) == 1, line
        src = src.replace(line, "")
    src += "".join(f"CQ_MV_TC_KERNEL(f32, true, 2, f32, float, {r}, {k}, {s})\n" for r, k, s in F32RT_GEOMETRIES)
    return "// probe_s34 f32rt\n" + src


def f32rt_setting(mm, geo):
    """Apply: the f32rt module; float32 x from 5 rows on geometry ``geo``
    (None: the shipped plan)."""
    import cupyquant.matmul_kernels as mk
    from cupyquant.gpu.modules import get_function
    real_function = mm.__dict__.setdefault("_probe_real_function", mm._function)
    real_plan = mm.__dict__.setdefault("_probe_real_plan", mm._mv_plan)
    src = f32rt_source()

    def plan(cp, x_dtype, y_dtype, mc, nb, tiles, n_tiles, sms):
        if geo is None or x_dtype != cp.float32 or mc <= 4:
            return real_plan(cp, x_dtype, y_dtype, mc, nb, tiles, n_tiles, sms)
        rt, kb, _ = geo
        bps = mm.MV_BLOCKS_PER_SM_LONG_K if nb * 32 >= mm.MV_LONG_K else mm.MV_BLOCKS_PER_SM
        name = mk.mv_tc_name(x_dtype, y_dtype, n_tiles, geo)
        smem = mk.mv_smem_bytes(*geo)
        tiles_r = -(-tiles * 16 // rt)
        kern = mm._kernel_with_smem(cp, name, smem)
        resident = mm._occupancy(cp, kern, smem) * sms
        if bps is None:
            splits, sps = mm._mv_splits_makespan(nb, tiles_r, resident, kb, False)
        else:
            splits, sps = mm._mv_splits(nb, tiles_r, max(1, int(bps * resident)), kb)
        return kern, geo, smem, tiles_r, splits, sps, False, tiles_r * splits >= resident

    def apply():
        mm._function = lambda k: get_function("matmul:s34:f32rt", src, k)
        mm._mv_plan = plan
        mm._mv_plans.clear()
    return apply


def part_f32rt(rounds="2"):
    import cupy as cp
    import numpy as np
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    from cupyquant.qmatmul import matmul
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {"base": f32rt_setting(mm, None)}
    settings.update({"r%d_k%d_s%d" % g: f32rt_setting(mm, g) for g in F32RT_GEOMETRIES})
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]
    for shape in shapes:
        w = bench.weights(shape)[0][0]
        x = cp.random.standard_normal((8, shape[1]), dtype=cp.float32)
        ys, kerns = {}, {}
        for name, apply in settings.items():
            apply()
            ys[name] = cp.asnumpy(matmul(x, w, out=cp.full((8, shape[0]), np.nan, dtype=cp.float32)))
            kerns[name] = launched["k"][0].split("_f32_f32_")[-1] + " " + str(launched["k"][1])
        base = ys["base"].astype(np.float64)
        print(f"check {shape[0]}x{shape[1]} M=8: " + " | ".join(
            f"{n} {kerns[n]} rel {np.linalg.norm(ys[n] - base) / np.linalg.norm(base):.1e} "
            f"nan={int(np.isnan(ys[n]).sum())}" for n in ys), flush=True)
    ab_rounds(shapes, [8], settings, bench_cell(bench, launched, "float32"), rounds)
    mm._mv_plan = mm._probe_real_plan
    mm._function = mm._probe_real_function
    mm._mv_plans.clear()


def part_f32rt2(rounds="2"):
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {"base": f32rt_setting(mm, None)}
    settings.update({"r%d_k%d_s%d" % g: f32rt_setting(mm, g) for g in [(32, 64, 2), (32, 32, 3)]})
    shapes = [(14336, 4096), (28672, 4096), (32000, 4096), (65536, 4096), (128256, 4096), (32000, 8192)]
    ab_rounds(shapes, [6, 8], settings, bench_cell(bench, launched, "float32"), rounds)
    mm._mv_plan = mm._probe_real_plan
    mm._function = mm._probe_real_function
    mm._mv_plans.clear()


def part_compile1(name):
    import time

    import cupy as cp

    import cupyquant.matmul_kernels as mk
    from cupyquant.gpu.modules import compile_options
    t = time.time()
    src = {"shipped": mk.matmul_source, "s33": s33_source, "f32rt": f32rt_source}[name]()
    cp.RawModule(code=src, options=compile_options()).compile()
    print(f"compiled {name} in {time.time() - t:.0f} s", flush=True)


def part_precompile(names="shipped,s33"):
    procs = [subprocess.Popen([sys.executable, __file__, f"compile1:{n}"]) for n in names.split(",")]
    print("precompile rc", [p.wait() for p in procs], flush=True)


def part_check():
    import cupy as cp
    import numpy as np
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    from cupyquant.qmatmul import matmul
    bench = get_bench()
    launched = launch_spy(mm)
    settings = {n: setting(mm, n) for n in ("shipped", "s33")}
    for shape in [(11008, 4096), (14336, 4096), (18944, 3584), (128256, 4096)]:
        w = bench.weights(shape)[0][0]
        for m in (1, 2, 4, 8):
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
            ys, kerns = {}, {}
            for name, apply in settings.items():
                apply()
                ys[name] = cp.asnumpy(matmul(x, w, out=cp.full((m, shape[0]), np.nan, dtype=cp.float16)))
                kerns[name] = launched["k"][0].split("_n1_")[-1]
            same = np.array_equal(ys["shipped"], ys["s33"], equal_nan=True)
            print(f"check {shape[0]}x{shape[1]} M={m} {kerns}: {'EQUAL' if same else 'DIFF'} "
                  f"nan={int(np.isnan(ys['shipped']).sum())}", flush=True)
    settings["shipped"]()


def part_m1copy(rounds="3"):
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    from probe_util import knob_setting
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    default = mm.MV_ONE_ROW_COPY_FILL_BAND
    for shape in QUEUE_SHAPES:
        print(f"{shape[0]}x{shape[1]}: {-(-shape[0] // 16)} tiles", flush=True)
    settings = {"c": knob_setting(mm, MV_ONE_ROW_COPY_FILL_BAND=(0, 1e9)),
                "plain": knob_setting(mm, MV_ONE_ROW_COPY_FILL_BAND=(0, 0))}
    ab_rounds(QUEUE_SHAPES, [1], settings, bench_cell(bench, launched, "float16"), rounds)
    knob_setting(mm, MV_ONE_ROW_COPY_FILL_BAND=default)()


def part_band(rounds="3"):
    """m1copy on float16 x, M = 1, K = 4096 from 1.04 to 1.55 tiles a thread
    block (660 resident), and 18944 x 3584 (1.79)."""
    global QUEUE_SHAPES
    QUEUE_SHAPES = [(n, 4096) for n in (11008, 12288, 13312, 14336, 15360, 16384)] + [(18944, 3584)]
    part_m1copy(rounds)


def part_rows(rounds="2"):
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {n: setting(mm, n) for n in ("shipped", "s33")}
    ab_rounds([(14336, 4096), (128256, 4096)], [1, 2, 4, 8], settings,
              bench_cell(bench, launched, "float16"), rounds)
    settings["shipped"]()


if __name__ == "__main__":
    assert os.path.exists(OLD_FILE), OLD_FILE
    for arg in sys.argv[1:]:
        name, _, val = arg.partition(":")
        if name != "compile1":
            print(f"=== {arg}", flush=True)
        globals()[f"part_{name}"](*(val.split("/") if val else []))
