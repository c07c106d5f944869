"""Session 33 device probes (H200). Run from the repository root:

    python3 notes/probe_s33.py precompile check fill:2 f32conv:2     (run 1)
    python3 notes/probe_s33.py precompile:shipped,s1,st3 st3:2               (run 2)
    python3 notes/probe_s33.py precompile:shipped,s0,s1,s3 check:s0,s1,s3 fill:3/s1,s0,s3   (run 3)
    python3 notes/probe_s33.py precompile:shipped,s0,s1,s4,s5 check:s0,s1,s4,s5 fill:3/s1,s0,s4,s5   (run 4)
    python3 notes/probe_s33.py precompile:s1,nofill nofill:2          (run 5)
    python3 notes/probe_s33.py precompile:shipped,a0f16,a1f16,a0f32,a1f32 check:a0f16,a1f16,a0f32,a1f32 async:2 (run 6)
    python3 notes/probe_s33.py precompile:shipped,a0f16 asyncm:2      (run 7)

precompile  every variant module below, and the shipped module, compiled at
  once in subprocesses (CuPy's disk cache then serves the probe and the tests).
check       each variant's output against the shipped module's, same inputs:
  float16 x (M = 1) "s0" / "s1" / "s2", float32 x (M = 1, 4, 8) "old" / "new";
  prints whether the bits are equal, and the largest difference.
fill[:rounds]  float16 x, M = 1: the one-row x_shared kernels' x records
  filled a stage at a time (CQ_MV_XS_STAGED_FILL 1: "_xs1" only, the
  submitted setting; 2: "_xsq1" too) against the whole split's records
  before the loop (0: sessions 23-32); 3: "_xs1" and "_xsq1", the raw x
  copied with each stage's weights (cp.async) and made into records in place
  by the warp that reads them.
f32conv[:rounds]  float32 x: the parts' records made a pair of values at a
  time with cvt.rn.f16x2.f32 (submitted) against session 32's form (one value
  at a time, then byte permutes), M = 1, 2, 4, 8.
st3[:rounds]  float16 x, M = 1: the one-row kernel with a ring of 3 stages
  ("_xs1" at (16, 64, 3): two weight stages in flight a thread block, 56
  instead of 37 KiB of ring) against the shipped (16, 64, 2), through
  MV_GEOMETRY and matmul_kernels.MV_ONE_ROW_GEOMETRY. The queue shape
  (14336 x 4096) then runs "_xs1" with a queue but without next-tile copies.
nofill[:rounds]  float16 x, M = 2, 4, 8: the x_shared kernels ("_xs",
  "_xsq") with their x records left unfilled (wrong results: a timing of
  what the fill costs) against the shipped kernels.
async[:rounds]  the x_shared fills of several float16 rows and of float32 x
  through cp.async against their former loops of global loads: float16 x
  M = 2, 4, 8; float32 x M = 1, 2. Run 6 ran it on commit f935285, where
  CQ_MV_FILL_ASYNC 1 / 0 switched both fills. Since then only the float16
  fill has the copies, from CQ_MV_FILL_ASYNC_FROM_M rows (submitted: 8); the
  variants here are "a1" from 1 row and "a0" never, and the float32 pair
  compiles the same code twice.
asyncm[:rounds]  the submitted package (float16 copies from 8 rows, in the
  queue kernels "_xsq" only) against "a0f16" (no copies), M = 2, 4, 8.
Every variant is compiled from the same trimmed source (no int8 kernels, one
output type: float16 for float16 x, float32 for float32 x, as the benchmark
asks), so that the rows compare like with like.
"""

from __future__ import annotations

import subprocess
import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")

from probe_util import ab_rounds, bench_cell, launch_spy  # noqa: E402

SHAPES = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096), (4096, 11008), (2048, 8192)]
F32_SHAPES = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]

NEW_RECORDS_START = "__device__ __forceinline__ void cq_mv_records_f16x2("
OLD_RECORDS = r"""__device__ __forceinline__ void cq_mv_records_f16x2(const float* src, float scale, uint4* rec) {
    // probe_s33 "old": session 32's form, one value at a time, then byte permutes
    const float4 lo = *reinterpret_cast<const float4*>(src);
    const float4 hi = *reinterpret_cast<const float4*>(src + 16);
    const float in[8] = {lo.x, lo.z, lo.y, lo.w, hi.x, hi.z, hi.y, hi.w};
    cq_u32 parts[8];
#pragma unroll
    for (int e = 0; e < 8; ++e) {
        const float v = in[e] * scale;
        const cq_u16 h = cq_float_to_half(v);
        parts[e] = (cq_u32)h | ((cq_u32)cq_float_to_half(v - cq_half_to_float(h)) << 16);
    }
    rec[0] = make_uint4(__byte_perm(parts[0], parts[1], 0x5410), __byte_perm(parts[2], parts[3], 0x5410),
                        __byte_perm(parts[4], parts[5], 0x5410), __byte_perm(parts[6], parts[7], 0x5410));
    rec[1] = make_uint4(__byte_perm(parts[0], parts[1], 0x7632), __byte_perm(parts[2], parts[3], 0x7632),
                        __byte_perm(parts[4], parts[5], 0x7632), __byte_perm(parts[6], parts[7], 0x7632));
}
"""

OUTS = {"f16": "CQ_MATMUL_FOR_OUT(f16, cq_f16)\n", "f32": "CQ_MATMUL_FOR_OUT(f32, float)\n"}
VARIANTS = {  # name -> (output kept, #defines, old records)
    "s0": ("f16", {"CQ_MV_XS_STAGED_FILL": 0}, False),
    "s1": ("f16", {"CQ_MV_XS_STAGED_FILL": 1}, False),
    "s2": ("f16", {"CQ_MV_XS_STAGED_FILL": 2}, False),
    "s3": ("f16", {"CQ_MV_XS_STAGED_FILL": 3}, False),
    "s4": ("f16", {"CQ_MV_XS_STAGED_FILL": 4}, False),
    "s5": ("f16", {"CQ_MV_XS_STAGED_FILL": 5}, False),
    "new": ("f32", {}, False),
    "old": ("f32", {}, True),
    "st3": ("f16", {}, False),
    "nofill": ("f16", {}, False),
    "a0f16": ("f16", {"CQ_MV_FILL_ASYNC_FROM_M": 99}, False),
    "a1f16": ("f16", {"CQ_MV_FILL_ASYNC_FROM_M": 1}, False),
    "a0f32": ("f32", {"CQ_MV_FILL_ASYNC_FROM_M": 99}, False),
    "a1f32": ("f32", {"CQ_MV_FILL_ASYNC_FROM_M": 1}, False),
}
# text patches of a variant's source: (old, new), each old found once
PATCHES = {"nofill": [("                cq_mv_fill_x<AE>(xs, x, ldx, M, (cq_i64)st0 * KB, nbr);",
                       "                /* probe_s33 nofill: records left as they are (wrong results) */")]}
EXTRA = {"st3": "CQ_MV_TC_KERNEL_XS1(f16, cq_f16, 16, 64, 3, false, _xs1)\n"}


def sub(s, old, new):
    assert s.count(old) == 1, old[:60]
    return s.replace(old, new)


def variant_source(name: str) -> str:
    import cupyquant.matmul_kernels as mk
    from cupyquant.hip import read_source
    out, defines, old = VARIANTS[name]
    src = "\n".join([read_source("common.h"), read_source(mk.COMMON_FILE), read_source(mk.SOURCE_FILE), ""])
    for o, line in OUTS.items():
        if o != out:
            src = sub(src, line, "")
    src = sub(src, "CQ_MATMUL_FOR_OUT(bf16, cq_bf16)\n", "")
    if old:
        i = src.index(NEW_RECORDS_START)
        j = src.index("\n}\n", i) + 3
        src = src[:i] + OLD_RECORDS + src[j:]
    src += EXTRA.get(name, "")
    for old_text, new_text in PATCHES.get(name, []):
        src = sub(src, old_text, new_text)
    head = f"// probe_s33 {name}\n" + "".join(f"#define {k} {v}\n" for k, v in defines.items())
    return head + src


def variant_setting(mm, name):
    """Apply: the matmul kernels from variant ``name`` ("shipped": the package's module)."""
    from cupyquant.gpu.modules import get_function
    real = mm.__dict__.setdefault("_probe_real_function", mm._function)
    src = None if name == "shipped" else variant_source(name)

    def apply():
        mm._function = real if src is None else (lambda k: get_function("matmul:s33:" + name, src, k))
        mm._mv_plans.clear()
    return apply


def part_compile1(name):
    import time

    import cupy as cp

    from cupyquant.gpu.modules import compile_options
    t = time.time()
    if name == "shipped":
        import cupyquant.matmul_kernels as mk
        src = mk.matmul_source()
    else:
        src = variant_source(name)
    cp.RawModule(code=src, options=compile_options()).compile()
    print(f"compiled {name} in {time.time() - t:.0f} s", flush=True)


def part_precompile(names=None):
    names = names.split(",") if names else ["shipped", *VARIANTS]
    procs = [subprocess.Popen([sys.executable, __file__, f"compile1:{n}"]) for n in names]
    print("precompile rc", [p.wait() for p in procs], flush=True)


def part_check(only=""):
    only = only.split(",") if only else None
    import cupy as cp
    import numpy as np
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    from cupyquant.qmatmul import matmul
    bench = get_bench()
    launched = launch_spy(mm)
    f16_names = [n for n in ("s0", "s1", "s2", "s3", "s4", "s5", "a0f16", "a1f16") if n in only] if only \
        else ["s0", "s1", "s2"]
    f32_names = [n for n in ("old", "new", "a0f32", "a1f32") if n in only] if only else ["old", "new"]
    f16_ms = [2, 4, 8] if only and "a0f16" in only else [1]
    f32_ms = [1, 2] if only and "a0f32" in only else [1, 4, 8]
    for x_dtype, names, ms, shapes in (("float16", f16_names, f16_ms, SHAPES[:4]),
                                       ("float32", f32_names, f32_ms, F32_SHAPES)):
        if not names:
            continue
        for shape in shapes:
            w = bench.weights(shape)[0][0]
            for m in ms:
                x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(x_dtype)
                ys = {}
                for name in ["shipped", *names]:
                    variant_setting(mm, name)()
                    ys[name] = cp.asnumpy(matmul(x, w, out=cp.full((m, shape[0]), np.nan, dtype=x_dtype)))
                    kern = launched["k"][0].split("_n1_")[-1]
                ref = ys["shipped"].astype(np.float64)
                cells = [f"{n} {'EQUAL' if np.array_equal(ys[n], ys['shipped'], equal_nan=True) else 'DIFF'}"
                         f" {np.abs(ys[n] - ref).max():.2e}" for n in names]
                print(f"check {x_dtype} {shape[0]}x{shape[1]} M={m} {kern} nan={int(np.isnan(ref).sum())}: "
                      + " | ".join(cells), flush=True)
    variant_setting(mm, "shipped")()


def ab_variants(shapes, ms, names, x_dtype, rounds):
    """ab_rounds of the benchmark's cells over the variant modules ``names``
    (the first also sets the order), then the shipped module again."""
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {n: variant_setting(mm, n) for n in names}
    ab_rounds(shapes, ms, settings, bench_cell(bench, launched, x_dtype), rounds)
    variant_setting(mm, "shipped")()


def part_fill(rounds="2", names="s1,s0,s2"):
    ab_variants(SHAPES, [1], names.split(","), "float16", rounds)


def part_f32conv(rounds="2"):
    ab_variants(F32_SHAPES, [1, 2, 4, 8], ["new", "old"], "float32", rounds)


def part_st3(rounds="2"):
    from test_bench_matmul import get_bench

    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    one_row = mk.MV_ONE_ROW_GEOMETRY

    def geometry(name, geo):
        module = variant_setting(mm, name)

        def apply():
            module()
            mm.MV_GEOMETRY = geo
            mk.MV_ONE_ROW_GEOMETRY = geo or one_row
        return apply
    settings = {"st2": geometry("s1", None), "st3": geometry("st3", (16, 64, 3))}
    shapes = [(4096, 4096), (4096, 14336), (4096, 11008), (2048, 8192), (3072, 4096), (14336, 4096)]
    import cupy as cp
    import numpy as np

    from cupyquant.qmatmul import matmul
    for shape in shapes:  # the same bits from both rings (same k order and sums)
        w = bench.weights(shape)[0][0]
        x = cp.random.standard_normal((1, shape[1]), dtype=cp.float32).astype(cp.float16)
        ys, kerns = {}, {}
        for name, apply in settings.items():
            apply()
            ys[name] = cp.asnumpy(matmul(x, w, out=cp.full((1, shape[0]), np.nan, dtype=cp.float16)))
            kerns[name] = launched["k"][0].split("_n1_")[-1]
        print(f"check {shape[0]}x{shape[1]} {kerns}: "
              f"{'EQUAL' if np.array_equal(ys['st2'], ys['st3']) else 'DIFF'} nan={int(np.isnan(ys['st3']).sum())}",
              flush=True)
    ab_rounds(shapes, [1], settings, bench_cell(bench, launched, "float16"), rounds)
    settings["st2"]()
    variant_setting(mm, "shipped")()


def part_nofill(rounds="2"):
    ab_variants([(14336, 4096), (128256, 4096), (4096, 14336)], [2, 4, 8], ["s1", "nofill"], "float16", rounds)


def part_async(rounds="2"):
    shapes = [(14336, 4096), (128256, 4096), (4096, 4096), (4096, 14336)]
    ab_variants(shapes, [2, 4, 8], ["a1f16", "a0f16"], "float16", rounds)
    ab_variants(shapes, [1, 2], ["a1f32", "a0f32"], "float32", rounds)


def part_asyncm(rounds="2"):
    """The submitted float16 fill (copies from 8 rows, queue kernels only)
    against "a0f16" (never): M = 2, 4, 8 where the x_shared kernels run."""
    ab_variants([(14336, 4096), (128256, 4096), (4096, 4096)], [2, 4, 8], ["shipped", "a0f16"], "float16", rounds)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        name, _, val = arg.partition(":")
        if name != "compile1":
            print(f"=== {arg}", flush=True)
        globals()[f"part_{name}"](*(val.split("/") if val else []))
