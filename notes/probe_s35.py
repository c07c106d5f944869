"""Session 35 device probe (H200): float32 x at M = 5-8 on x_shared kernels
with two column tiles.

    python3 notes/probe_s35.py precompile:shipped,f32xs f32xs:2      (run 2)

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


def part_compile1(name):
    import time

    import cupy as cp

    import cupyquant.matmul_kernels as mk
    from cupyquant.gpu.modules import compile_options
    t = time.time()
    src = {"shipped": mk.matmul_source, "f32xs": f32xs_source}[name]()
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
