"""Session 35 device probe (H200): float32 x at M = 5-8 on x_shared kernels
with two column tiles.

    python3 notes/probe_s35.py precompile:shipped,f32xs f32xs:2      (run 2)
    python3 notes/probe_s35.py spills precompile:shipped,minb minb:2  (run 4)
    python3 notes/probe_s35.py regbound:2                            (run 5)

precompile  the shipped module and "f32xs" (the package's source, float32
  output only, plus the probe kernels below) compiled at once in subprocesses
  (CuPy's disk cache then serves the probe and the tests).
f32xs[:rounds]  float32 x, M = 6 and 8 (two column tiles: 2 M float16 parts),
  which the shipped plan runs on the xprep kernel's parts, read from global
  memory by every 16-row tile (16, 64, 2). Against it, cq_mv_tc's x_shared
  variant with NT = 2: each thread block splits its K range of x into
  records in shared memory once and keeps them for every tile it takes from
  the queue. Settings "<kernel>/s<splits>": at least that many K splits (more
  where the records would not fit the shared memory; records of
  ceil(stages / splits) stages), grid x = the resident thread blocks of a
  split (at most one a tile). Kernels: xs (16, 64, 2), xsq (16, 64, 2, the
  next tile's first stage during this tile's last), xs3 (16, 32, 3), all
  with registers for two thread blocks an SM (128 at most), and xsb3 (16, 64,
  2, registers for three, which the records of 4 splits allow). Outputs
  checked first against the shipped plan's (float32 roundings apart: the
  scale is the split's largest |x|, not the row's) and a float64 reference.
minb[:rounds]  float16 x: the queue kernels' register bound. They are
  compiled for CQ_MV_MIN_BLOCKS = 5 thread blocks an SM (48 registers), but
  at M = 8 their records (64 KiB at K = 4096) leave room for two, and ncu
  (run 3) counted local-memory (spill) requests in "_xsqc" (NVRTC here, 13.5,
  reports none: the device's compiler differs). Kernels "_xsqc" and "_xsq"
  also compiled with bounds of 2, 3 and 4 thread blocks (suffix b2 / b3 /
  b4; module "minb", float16 output only), swapped in by name; M = 2, 4, 6,
  8. Output bits compared first.
regbound[:rounds]  the package's MV_XS_QUEUE_REG_BOUND on and off (the
  bounded builds as shipped), float16 x, M = 2, 4, 6, 8.
fewb  (never ran; removed in session 36, whose probe_s36.py part regb
  measures the generalised rule, MV_XS_UNQUEUED_REG_BOUND.)
spills  ptxas's register and spill report for the minb module's queue
  kernels, from this machine's NVRTC (cupyquant.offline_compile).
"""

from __future__ import annotations

import subprocess
import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")

from probe_util import ab_rounds, bench_cell, launch_spy  # noqa: E402

# kernel label -> (geometry, XQ, thread blocks an SM the registers must allow, name suffix after "_xs[q]")
F32XS_KERNELS = {"xs": ((16, 64, 2), False, 2, ""), "xsq": ((16, 64, 2), True, 2, ""),
                 "xs3": ((16, 32, 3), False, 2, ""), "xsb3": ((16, 64, 2), False, 3, "b3")}


def f32xs_source() -> str:
    import cupyquant.matmul_kernels as mk
    from cupyquant.hip import read_source
    src = "\n".join([read_source("common.h"), read_source(mk.COMMON_FILE), read_source(mk.SOURCE_FILE), ""])
    for line in ("CQ_MATMUL_FOR_OUT(f16, cq_f16)\n", "CQ_MATMUL_FOR_OUT(bf16, cq_bf16)\n"):
        assert src.count(line) == 1, line
        src = src.replace(line, "")
    for (rt, kb, st), xq, minb, extra in F32XS_KERNELS.values():
        suffix = ("_xsq" if xq else "_xs") + extra
        src += (f"CQ_MV_TC_KERNEL_XQ(f32, true, 2, f32, float, {rt}, {kb}, {st}, true, {str(xq).lower()}, "
                f"CQ_MV_XS_COPY_WARPS, {suffix}, {minb}, false, false, false)\n")
    return "// probe_s35 f32xs\n" + src


def f32xs_setting(mm, label, splits):
    """Apply: the f32xs module; float32 x from 5 rows on kernel ``label``
    with ``splits`` K splits (label None: the shipped plan)."""
    import cupyquant.matmul_kernels as mk
    from cupyquant.gpu.modules import get_function
    from cupyquant.gpu.platform import device_info
    real_function = mm.__dict__.setdefault("_probe_real_function", mm._function)
    real_plan = mm.__dict__.setdefault("_probe_real_plan", mm._mv_plan)
    src = f32xs_source()

    def plan(cp, x_dtype, y_dtype, mc, nb, tiles, n_tiles, sms):
        if label is None or x_dtype != cp.float32 or mc <= 4:
            return real_plan(cp, x_dtype, y_dtype, mc, nb, tiles, n_tiles, sms)
        geo, xq, _, extra = F32XS_KERNELS[label]
        kb = geo[1]
        n_st = -(-nb // kb)
        optin = device_info(cp.cuda.Device().id).get("smem_optin", 0) - 1024
        for s in range(splits, n_st + 1):  # at least ``splits``: as many as the records need to fit
            sps = -(-n_st // s)
            n_split = -(-n_st // sps)
            smem = mk.mv_x_shared_offset(*geo) + mk.mv_x_shared_bytes(2 * mc, sps * kb)
            if smem <= optin:
                break
        name = mk.mv_tc_name(x_dtype, y_dtype, 2, geo, x_shared=True, queue=xq) + extra
        kern = mm._kernel_with_smem(cp, name, smem)
        resident = mm._occupancy(cp, kern, smem) * sms
        grid_x = max(1, min(tiles, resident // n_split))
        return kern, geo, smem, grid_x, n_split, sps, True, grid_x >= resident // n_split

    def apply():
        mm._function = real_function if label is None else (lambda k: get_function("matmul:s35:f32xs", src, k))
        mm._mv_plan = plan
        mm._mv_plans.clear()
    return apply


F32XS_SETTINGS = [("xs", 1), ("xs", 2), ("xs", 4), ("xsq", 1), ("xsq", 2), ("xs3", 2), ("xsb3", 4)]


def part_f32xs(rounds="2"):
    import cupy as cp
    import numpy as np
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    from cupyquant.qmatmul import matmul
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {"base": f32xs_setting(mm, None, 1)}
    settings.update({f"{k}/s{s}": f32xs_setting(mm, k, s) for k, s in F32XS_SETTINGS})
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096), (28672, 4096), (11008, 4096)]
    for shape in shapes[:4] + [(4100, 4128)]:
        if shape == (4100, 4128):  # a partial tile and a partial stage
            from test_bench_matmul import random_q4_0_device
            w = random_q4_0_device(*shape, seed=7)
        else:
            w = bench.weights(shape)[0][0]
        for m in (5, 8):
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32)
            x[:, ::7] *= 1e3  # a range of magnitudes within each row
            ref = cp.asnumpy(x).astype(np.float64) @ w.dequant(dtype=cp.float32).get().astype(np.float64).T
            cells = []
            for name, apply in settings.items():
                apply()
                try:
                    y = cp.asnumpy(matmul(x, w, out=cp.full((m, shape[0]), np.nan, dtype=cp.float32)))
                except Exception as exc:
                    cells.append(f"{name} FAILED {type(exc).__name__}: {str(exc)[:80]}")
                    continue
                k = launched["k"]
                rel = np.linalg.norm(y - ref) / np.linalg.norm(ref)
                cells.append(f"{name} {k[0].split('_f32_f32_')[-1]} {k[1]} rel {rel:.1e} nan={int(np.isnan(y).sum())}")
            print(f"check {shape[0]}x{shape[1]} M={m}: " + " | ".join(cells), flush=True)
    ab_rounds(shapes, [6, 8], settings, bench_cell(bench, launched, "float32"), rounds)
    mm._mv_plan = mm._probe_real_plan
    mm._function = mm._probe_real_function
    mm._mv_plans.clear()


MINB_BOUNDS = (2, 3, 4)


def minb_source() -> str:
    import cupyquant.matmul_kernels as mk
    from cupyquant.hip import read_source
    src = "\n".join([read_source("common.h"), read_source(mk.COMMON_FILE), read_source(mk.SOURCE_FILE), ""])
    for line in ("CQ_MATMUL_FOR_OUT(f32, float)\n", "CQ_MATMUL_FOR_OUT(bf16, cq_bf16)\n"):
        assert src.count(line) == 1, line
        src = src.replace(line, "")
    for b in MINB_BOUNDS:
        for xc in (False, True):
            suffix = ("_xsqc" if xc else "_xsq") + f"b{b}"
            src += (f"CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 64, 2, true, true, CQ_MV_XS_COPY_WARPS, "
                    f"{suffix}, {b}, false, false, {str(xc).lower()})\n")
    return "// probe_s35 minb\n" + src


def minb_setting(mm, bound):
    """Apply: the minb module, its "_xsq" / "_xsqc" kernels of register bound
    ``bound`` in place of the shipped ones (None: the shipped module)."""
    from cupyquant.gpu.modules import get_function
    real_function = mm.__dict__.setdefault("_probe_real_function", mm._function)
    src = minb_source()

    def function(name):
        if name.endswith(("_xsq", "_xsqc")):
            name += f"b{bound}"
        return get_function("matmul:s35:minb", src, name)

    def apply():
        mm._function = real_function if bound is None else function
        mm._mv_plans.clear()
    return apply


def part_minb(rounds="2"):
    import cupy as cp
    import numpy as np
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    from cupyquant.qmatmul import matmul
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {"shipped": minb_setting(mm, None)}
    settings.update({f"b{b}": minb_setting(mm, b) for b in MINB_BOUNDS})
    shapes = [(14336, 4096), (128256, 4096), (4096, 4096), (11008, 4096), (32000, 2048), (18944, 3584)]
    ms = [2, 4, 6, 8]
    for shape in shapes:
        w = bench.weights(shape)[0][0]
        for m in ms:
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
            ys, kerns = {}, {}
            for name, apply in settings.items():
                apply()
                ys[name] = cp.asnumpy(matmul(x, w, out=cp.full((m, shape[0]), np.nan, dtype=cp.float16)))
                kerns[name] = launched["k"][0].split("_n1_")[-1] + " " + str(launched["k"][1])
            base = ys["shipped"]
            print(f"check {shape[0]}x{shape[1]} M={m}: " + " | ".join(
                f"{n} {kerns[n]} {'EQUAL' if np.array_equal(ys[n], base, equal_nan=True) else 'DIFFER'}"
                for n in ys), flush=True)
    ab_rounds(shapes, ms, settings, bench_cell(bench, launched, "float16"), rounds)
    mm._function = mm._probe_real_function
    mm._mv_plans.clear()


def part_regbound(rounds="2"):
    from probe_util import knob_setting
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {"on": knob_setting(mm, MV_XS_QUEUE_REG_BOUND=True),
                "off": knob_setting(mm, MV_XS_QUEUE_REG_BOUND=False)}
    ab_rounds([(14336, 4096), (128256, 4096), (32000, 2048), (18944, 3584)], [2, 4, 6, 8], settings,
              bench_cell(bench, launched, "float16"), rounds)
    mm.MV_XS_QUEUE_REG_BOUND = True


def no_bf16_source() -> str:
    """The package's matmul source without its bfloat16-output kernels (a
    third less to compile: the probe's x dtypes give float16 / float32 y)."""
    import cupyquant.matmul_kernels as mk
    src = mk.matmul_source()
    line = "CQ_MATMUL_FOR_OUT(bf16, cq_bf16)\n"
    assert src.count(line) == 1
    return "// probe_s35 nobf16\n" + src.replace(line, "")


def part_spills():
    import re

    from cupyquant.offline_compile import compile_source, compiler_path
    print("NVRTC:", compiler_path("nvidia"), flush=True)
    r = compile_source(minb_source(), "sm_90", extra_options=("--ptxas-options=-v",))
    log = r.log if hasattr(r, "log") else r[1]
    cur = None
    for line in log.splitlines():
        m = re.search(r"Compiling entry function '(\w+)'", line) or re.search(r"Function properties for (\w+)", line)
        if m:
            cur = m.group(1)
        if cur and "_f16_f16_n1_r16_k64_s2_xs" in cur and ("spill" in line or "Used" in line):
            print(cur.replace("cq_q4_0_mv_tc_f16_f16_n1_r16_k64_s2", ""), line.strip(), flush=True)


def part_compile1(name):
    import time

    import cupy as cp

    import cupyquant.matmul_kernels as mk
    from cupyquant.gpu.modules import compile_options
    t = time.time()
    src = {"shipped": mk.matmul_source, "f32xs": f32xs_source, "minb": minb_source, "nobf16": no_bf16_source}[name]()
    cp.RawModule(code=src, options=compile_options()).compile()
    print(f"compiled {name} in {time.time() - t:.0f} s", flush=True)


def part_precompile(*names):
    procs = [subprocess.Popen([sys.executable, __file__, f"compile1:{n}"]) for n in names or ("shipped", "f32xs")]
    print("precompile rc", [p.wait() for p in procs], flush=True)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        part, _, val = arg.partition(":")
        print(f"=== {arg}", flush=True)
        fn = globals()["part_" + part]
        fn(*val.split(",")) if val else fn()
