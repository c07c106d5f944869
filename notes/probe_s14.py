"""Device probe, session 14 (H200).

    PYTHONPATH=. python notes/probe_s14.py fill     # x_shared activation fill: batched loads A/B
    PYTHONPATH=. python notes/probe_s14.py wgmma    # fused Q4_0 wgmma matrix-matrix prototype

Variants are the shipped kernel source with a -D knob prepended, compiled as
separate modules (a distinct MODULE_KEY each).
"""
import os
import sys

import cupy as cp
import numpy as np

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from gpu_timing import copy_bandwidth, gpu_seconds_per_call  # noqa: E402,F401
from probe_util import ab  # noqa: E402

part = sys.argv[1]


# ---------------------------------------------------------------- x_shared fill
if part == "fill":
    # The x_shared kernels fill their activation records at every thread
    # block's start; the loads of x were waited for record by record (run 7 of
    # session 13: 12-17% of the stall samples). CQ_MV_FILL_BATCH records a
    # thread are now loaded before any is permuted; 1 is the old order.
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    plain_source, plain_key = mk.matmul_source, mk.MODULE_KEY
    BATCHES = [int(b) for b in os.environ.get("PROBE_BATCHES", "1,8,16").split(",")]
    srcs = {b: f"#define CQ_MV_FILL_BATCH {b}\n" + plain_source() for b in BATCHES}

    def variant(b):
        def apply():
            mk.matmul_source = lambda: srcs[b]
            mk.MODULE_KEY = f"{plain_key}:fill{b}"
        return apply
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    SET = {f"b{b}": variant(b) for b in BATCHES}
    SET.update({f"b{b}'": variant(b) for b in BATCHES[:2]})
    for shape in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]:
        for m, xd in [(1, "float16"), (1, "float32"), (8, "float16"), (2, "float32")]:
            def f(shape=shape, m=m, xd=xd):
                r, _ = bench.measure(shape, m, xd, "matvec")
                return f"{r['time_us']:6.2f}"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]}", f, SET)
    # the records are the same whatever the batch: bit-identical products
    for shape in [(1000, 4096), (4096, 14336)]:
        q, _ = bench.weights(shape)
        for m, xd in [(1, "float16"), (1, "float32"), (8, "float16"), (2, "float32"), (3, "float32")]:
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
            ys = []
            for b in BATCHES:
                variant(b)()
                ys.append(mm.matmul(x, q[0], path="matvec"))
            ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
            err = float(cp.linalg.norm(ys[0].astype(cp.float64) - ref) / cp.linalg.norm(ref))
            same = [bool((ys[0] == y).all()) for y in ys[1:]]
            print(f"{shape} M={m} {xd}: bit-equal across batches {same}, rel err {err:.2e}", flush=True)
    mk.matmul_source, mk.MODULE_KEY = plain_source, plain_key

# ---------------------------------------------------------------- wgmma prototype
if part == "wgmma":
    # Fused Q4_0 matrix-matrix on wgmma (sm_90a), notes/wgmma_q4_0_sm90.hip,
    # compiled here with nvcc for sm_90a and loaded as a cubin: accuracy against
    # float64, then times against cuBLAS on float16 weights and the shipped
    # dequant_gemm path (same run). PROBE_WG_VARIANTS: name=-D options;...
    import re
    import subprocess
    import cupyquant.qmatmul as mm
    from cupyquant.hip import read_source
    from test_bench_matmul import get_bench, random_q4_0_device
    wsrc = open("notes/wgmma_q4_0_sm90.hip").read()
    spec = os.environ.get("PROBE_WG_VARIANTS", "s4=;s5=-DCQ_WG_STAGES=5")
    variants = dict(v.split("=", 1) for v in spec.split(";"))
    # tiles: (warpgroups, activation rows); a thread block has 64 x warpgroups weight rows
    BNS = [tuple(int(v) for v in c.split("x")) for c in os.environ.get("PROBE_WG_TILES", "2x128,2x256,4x128").split(",")]
    mods, stages_of, w16_of = {}, {}, {}
    for name, opts in variants.items():
        # (runs 1-6: common.h + q4_0_matmul.hip up to its matrix-vector section, the
        # helpers since split off into q4_0_mm_common.hip, + cq_dyn_smem)
        src = "\n".join([read_source("common.h"), read_source("q4_0_mm_common.hip"), wsrc])
        open(f"/tmp/wg_{name}.cu", "w").write(src)
        r = subprocess.run(["nvcc", "-arch=sm_90a", "-cubin", "-std=c++17", "-Xptxas", "-v", *opts.split(),
                            "-o", f"/tmp/wg_{name}.cubin", f"/tmp/wg_{name}.cu"], capture_output=True, text=True)
        regs = re.findall(r"Used (\d+) registers", r.stderr)
        spills = re.findall(r"(\d+) bytes spill stores", r.stderr)
        warn = [l for l in r.stderr.splitlines() if "arning" in l or "Loss" in l]
        print(f"nvcc {name} ({opts}): rc {r.returncode}, registers {regs}, spill stores {spills} {warn[:3]}", flush=True)
        if r.returncode:
            print(r.stderr[-3000:])
            sys.exit(1)
        mods[name] = cp.RawModule(path=f"/tmp/wg_{name}.cubin")
        m = re.search(r"CQ_WG_STAGES=(\d+)", opts)
        stages_of[name] = int(m.group(1)) if m else 4
        w16_of[name] = "CQ_WG_W16=0" not in opts
    if os.environ.get("PROBE_WG_SASS"):
        name = os.environ["PROBE_WG_SASS"]
        r = subprocess.run(["cuobjdump", "-sass", "-fun", "cq_q4_0_mm_wgmma_f16_w4_n128", f"/tmp/wg_{name}.cubin"],
                           capture_output=True, text=True)
        out = os.path.join(os.environ.get("OUT", "/tmp"), f"sass_{name}_f16_n256.txt")
        open(out, "w").write(r.stdout + r.stderr)
        print(f"sass -> {out} ({len(r.stdout.splitlines())} lines)", flush=True)

    def smem_bytes(tile, st, w16=True):
        wgs, bn = tile
        if w16:  # x stages, two weight slots of 144 bytes a row
            return st * bn * 128 + 2 * 64 * wgs * 144 + 1024
        sb = -(-(bn * 128 + 64 * wgs * 36) // 1024) * 1024
        return st * sb + 1024

    def wg(q, x16, y, tile, name):
        N, K = q.shape
        M = x16.shape[0]
        wgs, bn = tile
        key = (name, tile, y.dtype.char)
        smem = smem_bytes(tile, stages_of[name], w16_of[name])
        f = wg.fns.get(key)
        if f is None:  # one Function object a kernel, its shared memory limit raised once
            yn = "f16" if y.dtype == cp.float16 else "f32"
            f = wg.fns[key] = mods[name].get_function(f"cq_q4_0_mm_wgmma_{yn}_w{wgs}_n{bn}")
            mm._set_max_dynamic_smem(cp, f, smem)
        f((-(-M // bn), -(-N // (64 * wgs))), (128 * wgs,),
          (q.data, np.int64(K // 32 * 18), np.int32(N), np.int32(K // 32), x16, np.int64(K), np.int32(M), y,
           np.int64(N)), shared_mem=smem)
    wg.fns = {}

    checked = [n for n in variants if "DIAG" not in variants[n]]
    for (N, K, M) in [(128, 256, 1), (1000, 4096, 17), (300, 1024, 200), (4096, 4096, 512), (250, 14336, 3)]:
        q = random_q4_0_device(N, K, seed=7)
        x = cp.random.standard_normal((M, K), dtype=cp.float32).astype(cp.float16)
        ref = x.astype(cp.float64) @ q.dequant(dtype="float32").astype(cp.float64).T
        cells = []
        for name in checked:
            for bn in BNS:
                if smem_bytes(bn, stages_of[name], w16_of[name]) > (227 << 10):
                    continue
                for yd in (cp.float16, cp.float32):
                    y = cp.full((M, N), cp.nan, dtype=yd)
                    wg(q, x, y, bn, name)
                    err = float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref))
                    cells.append(f"{name} w{bn[0]}n{bn[1]} {cp.dtype(yd).name[5:]}: {err:.1e}")
        print(f"accuracy N={N} K={K} M={M}: " + " | ".join(cells), flush=True)

    bench = get_bench()
    shapes = [tuple(int(v) for v in s.split("x")) for s in
              os.environ.get("PROBE_WG_SHAPES", "4096x4096,14336x4096,4096x14336,128256x4096").split(",")]
    for shape in shapes:
        qs, _ = bench.weights(shape)
        for m in [int(v) for v in os.environ.get("PROBE_WG_MS", "512").split(",")]:
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
            y = cp.empty((m, shape[0]), dtype=cp.float16)
            t_blas, _ = bench.cublas_time(shape, m)
            cells = [f"cuBLAS {t_blas*1e6:7.2f}"]
            t, _, _ = gpu_seconds_per_call([lambda w=w: mm.matmul(x, w, out=y, path="dequant_gemm") for w in qs])
            cells.append(f"dequant_gemm {t*1e6:7.2f} ({t/t_blas:.2f})")
            for name in variants:
                for bn in BNS:
                    if smem_bytes(bn, stages_of[name], w16_of[name]) > (227 << 10):
                        continue
                    t, _, _ = gpu_seconds_per_call([lambda w=w: wg(w, x, y, bn, name) for w in qs])
                    cells.append(f"{name} w{bn[0]}n{bn[1]} {t*1e6:7.2f} ({t/t_blas:.2f}, "
                                 f"{2*m*shape[0]*shape[1]/t/1e12:.0f} TF)")
            print(f"{shape[0]}x{shape[1]} M={m}: " + " | ".join(cells), flush=True)

# ---------------------------------------------------------------- M thresholds
if part == "mthr":
    # Where the matrix-vector path should give way to wgmma: GPU time of
    # "matvec", "wgmma" and "dequant_gemm" for M = 8 .. 128 (auto path in
    # brackets), float16 x on three shapes, float32 x at a few M.
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    dev = cp.cuda.Device().id
    print(f"wgmma available: {mm.wgmma_available(dev)} {mm.wgmma_error.get(dev, '')}", flush=True)
    bench = get_bench()
    for shape in [(4096, 4096), (14336, 4096), (4096, 14336)]:
        grid = ([("float16", [16, 17, 32, 33, 128]), ("float32", [16, 17])] if os.environ.get("PROBE_MTHR_SHORT")
                else [("float16", [8, 16, 17, 24, 32, 48, 64, 96, 128]), ("float32", [8, 16, 17, 32, 48])])
        for xd, ms in grid:
            for m in ms:
                cells = []
                for p in ("matvec", "wgmma", "dequant_gemm"):
                    try:
                        r, _ = bench.measure(shape, m, xd, p)
                        cells.append(f"{p} {r['time_us']:7.2f}")
                    except Exception as exc:
                        cells.append(f"{p} FAILED {type(exc).__name__}: {str(exc)[:60]}")
                print(f"{shape[0]}x{shape[1]} M={m:3d} {xd[:5]} [auto {mm.choose_path(m, xd, dev, *shape)}]: "
                      + " | ".join(cells), flush=True)

# ---------------------------------------------------------------- wgmma split-K
if part == "wgsplit":
    # wgmma split-K on small grids (run 7: a thread block's 64-224 serial
    # stages were the limit where the grid is small): no split / the default
    # (2 blocks an SM, at least 16 stages a split) / at least 8 stages a split,
    # against dequant_gemm and matvec; the plan in brackets.
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    dev = cp.cuda.Device().id
    sms = cp.cuda.runtime.getDeviceProperties(dev)["multiProcessorCount"]
    bench = get_bench()

    def split(bps, min_st):
        def apply():
            mm.WGMMA_SPLIT_BLOCKS_PER_SM, mm.WGMMA_MIN_STAGES_PER_SPLIT = bps, min_st
        return apply
    SET = {"nosplit": split(0, 16), "split": split(2.0, 16), "split8": split(2.0, 8), "split4/8": split(4.0, 8)}
    for shape in [(4096, 4096), (4096, 14336), (14336, 4096)]:
        for m in [17, 33, 64, 128, 512]:
            cells = []
            for name, apply in SET.items():
                apply()
                r, _ = bench.measure(shape, m, "float16", "wgmma")
                cells.append(f"{name} {r['time_us']:7.2f} {mm._wgmma_plan(m, shape[0], shape[1], sms)}")
            split(2.0, 16)()
            for p in (["matvec"] if m <= 32 else []) + ["dequant_gemm"]:
                r, _ = bench.measure(shape, m, "float16", p)
                cells.append(f"{p} {r['time_us']:7.2f}")
            t_blas, _ = bench.cublas_time(shape, m)
            print(f"{shape[0]}x{shape[1]} M={m:3d} [auto {mm.choose_path(m, 'float16', dev, *shape)}] "
                  f"cuBLAS {t_blas*1e6:6.2f}: " + " | ".join(cells), flush=True)
