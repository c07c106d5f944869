"""Device probe, session 11 (H200): the previous commit's kernels ("head",
from notes/_ab_head_s11.json, written locally from `git show HEAD:` sources
before the run; not kept in the repository) against the working tree's, in
one process.

    PYTHONPATH=. python notes/probe_s11.py dq [FORMAT...]  # dequant, every format by default
    PYTHONPATH=. python notes/probe_s11.py mv              # matrix-vector (auto path)
    PYTHONPATH=. python notes/probe_s11.py dqgrid [FORMAT...]  # dequant grids (warp tiles)
    PYTHONPATH=. python notes/probe_s11.py dqmb [FORMAT...]    # dequant register bounds (warp tiles)
    PYTHONPATH=. python notes/probe_s11.py dqf32 [FORMAT...]   # float32 stores: shuffles or shared memory
    PYTHONPATH=. python notes/probe_s11.py write           # write-only ceiling

dq: the skeleton's fast path with per-thread base addresses (fewer index
instructions), TQ1_0's word-wise digits for float32, the codebook lookups
with one byte permute a value (all variants but "head"); "block": the thread
block shares each tile (as before) with the previous register bounds;
"block_mb4": the same, every format bounded to 64 registers; "warp": warp
tiles (each warp stages and decodes its own slice, warp barriers only),
64 registers; "warp_free": warp tiles with the previous register bounds. mv: the x_shared records over the last
stage row's padding (16 bytes less shared memory a thread block: a fifth
thread block an SM at K = 4096, M = 1, float16 x). write: a kernel that only
writes (16-byte streaming stores, grid-stride) and cudaMemsetAsync, against
the copy: the ceiling of a kernel whose traffic is nearly all writes.
"""
import json
import os
import sys

import cupy as cp
import numpy as np

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from gpu_timing import copy_bandwidth, gpu_seconds_per_call  # noqa: E402

import cupyquant.matmul_kernels as mk  # noqa: E402
import cupyquant.qmatmul as mm  # noqa: E402

part = sys.argv[1]
HEAD = json.load(open("notes/_ab_head_s11.json")) if os.path.exists("notes/_ab_head_s11.json") else {}

# Dequant tables: part -> (variants, default formats, dtypes). Each variant
# is extra compiler options, or (options, thread blocks an SM of the grid).
DQ_ALL = None  # every format
DQ_KEY = ["Q4_0", "Q2_K", "Q3_K", "Q5_K", "Q6_K", "TQ1_0", "TQ2_0", "MXFP4"]
DQ_PARTS = {
    # run 1 ("head" / "new") and run 2: "block": the thread block shares each
    # tile (as before) with the previous register bounds; "block_mb4": the
    # same, every format bounded to 64 registers; "warp": warp tiles, 64
    # registers; "warp_free": warp tiles with the previous register bounds.
    "dq": ({"head": (), "block": ("-DCQ_WARP_TILES=0", "-DCQ_MIN_BLOCKS_DEFAULT=0"),
            "block_mb4": ("-DCQ_WARP_TILES=0",), "warp_free": ("-DCQ_MIN_BLOCKS_DEFAULT=0",), "warp": ()},
           DQ_ALL, ("float16", "float32")),
    # run 3: warp tiles with persistent grids (4 thread blocks are resident at
    # 64 registers) and half tiles
    "dqgrid": ({"g32": (), "g4": ((), 4), "g8": ((), 8), "g12": ((), 12),
                "u4g4": (("-DCQ_UNROLL_MAX=4",), 4), "u4g32": (("-DCQ_UNROLL_MAX=4",), 32)},
               DQ_KEY + ["IQ2_XXS", "IQ1_M", "F32"], ("float16", "float32")),
    # run 4: 5 / 6 thread blocks an SM (48 / 40 registers), with and without 2
    # groups decoded at a time
    "dqmb": ({"mb4": (), "mb5": ("-DCQ_TUNE_MIN_BLOCKS=5",), "mb6": ("-DCQ_TUNE_MIN_BLOCKS=6",),
              "mb5du2": ("-DCQ_TUNE_MIN_BLOCKS=5", "-DCQ_TUNE_DECODE_UNROLL=2"),
              "mb6du2": ("-DCQ_TUNE_MIN_BLOCKS=6", "-DCQ_TUNE_DECODE_UNROLL=2")},
             DQ_KEY + ["NVFP4", "IQ4_NL"], ("float16", "float32")),
    # run 6 used "-DCQ_F32_STORE_SHUFFLE=0" (each lane's two float4 stored as
    # they are), run 7 "-DCQ_F32_XPOSE=0" against the default (float32 output
    # through shared memory): both A/B options existed only in the working
    # tree of their run; neither change was kept.
    "dqf32": ({"shuffle": ("-DCQ_F32_XPOSE=0",), "xpose": (), "shuffle2": ("-DCQ_F32_XPOSE=0",), "xpose2": ()},
              DQ_ALL, ("float32",)),
}

if part in DQ_PARTS:
    import dequant_variants
    from cupyquant import FORMATS
    variants, default_names, dtypes = DQ_PARTS[part]
    ceil = copy_bandwidth(cp)
    print(f"copy {ceil/1e9:.0f} GB/s", flush=True)
    names = sys.argv[2:] or default_names or list(FORMATS)
    dtypes = os.environ.get("PROBE_DTYPES", ",".join(dtypes)).split(",")
    dequant_variants.print_table(cp, ceil, names, variants, dtypes, sources={"head": HEAD.get("dequant", {})}, strict=False)

if part == "mvsplit":
    # run 8: K split more often (MV_BLOCKS_PER_SM) for the shapes with few row
    # tiles: 4096 x 14336 runs 256 thread blocks of 3 an SM on 132 SMs
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    per_sm = [0.5, 1.0, 2.0, 3.0, 4.0]
    for shape in [(4096, 14336), (4096, 4096), (14336, 4096)]:
        for m, xd in [(1, "float16"), (1, "float32"), (2, "float16"), (4, "float16"), (8, "float16")]:
            row = []
            for bps in per_sm:
                mm.MV_BLOCKS_PER_SM = bps
                r, _ = bench.measure(shape, m, xd, "matvec_f16tc")
                row.append(f"{bps}: {r['time_us']:7.2f}")
            print(f"{shape[0]}x{shape[1]} M={m} {xd}: " + " | ".join(row), flush=True)
    mm.MV_BLOCKS_PER_SM = 0.5

if part == "mmpipe":
    # run 9: dequant_gemm in row chunks, dequantization on a second stream
    # overlapped with cuBLAS (DEQUANT_GEMM_CHUNKS; 1 = dequantize all, then
    # multiply). The option existed only in that run's working tree: slower, not kept.
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    for shape in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]:
        for xd in ("float16", "float32"):
            row = []
            for chunks in (1, 2, 4, 8):
                mm.DEQUANT_GEMM_CHUNKS = chunks
                r, _ = bench.measure(shape, 512, xd, "dequant_gemm")
                row.append(f"{chunks}: {r['time_us']:8.2f} ({r['ratio_to_cublas']:.2f})")
            print(f"{shape[0]}x{shape[1]} M=512 {xd} cuBLAS {r['cublas_f16_us']:.2f}: " + " | ".join(row), flush=True)

if part == "write":
    ceil = copy_bandwidth(cp)
    print(f"copy {ceil/1e9:.0f} GB/s", flush=True)
    src = r"""
    extern "C" __global__ void wr(uint4* __restrict__ p, long long n) {
        const uint4 z = make_uint4(0u, 0u, 0u, 0u);
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
            __stcs(p + i, z);
    }
    extern "C" __global__ void wr_plain(uint4* __restrict__ p, long long n) {
        const uint4 z = make_uint4(0u, 0u, 0u, 0u);
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
            p[i] = z;
    }"""
    mod = cp.RawModule(code=src)
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    for nbytes in (14336 * 4096 * 2, 14336 * 4096 * 4):   # the dequant outputs (float16, float32)
        bufs = [cp.empty(nbytes, cp.uint8) for _ in range(2)]
        n16 = nbytes // 16
        for kname in ("wr", "wr_plain"):
            fn = mod.get_function(kname)
            for per_sm in (4, 8, 16):
                calls = [lambda b=b: fn((sms * per_sm,), (256,), (b, np.int64(n16))) for b in bufs]
                t, _, _ = gpu_seconds_per_call(calls, min_calls=20, replays=5)
                print(f"{kname:9s} {nbytes/1e6:6.1f} MB grid {per_sm:2d}/SM: {t*1e6:7.1f} us {nbytes/t/1e9:6.0f} GB/s "
                      f"= {nbytes/t/ceil:4.2f} of the copy", flush=True)
        calls = [lambda b=b: b.fill(0) for b in bufs]
        t, _, _ = gpu_seconds_per_call(calls, min_calls=20, replays=5)
        print(f"memset    {nbytes/1e6:6.1f} MB: {t*1e6:7.1f} us {nbytes/t/1e9:6.0f} GB/s = {nbytes/t/ceil:4.2f} of the copy",
              flush=True)
        bufs = None

if part == "mv":
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    KEY = mk.MODULE_KEY
    NEW = mk.matmul_source()
    new_offset = mk.mv_x_shared_offset
    VARIANTS = {"head": (HEAD["matmul"], mk.mv_smem_bytes), "new": (NEW, new_offset)}

    def set_variant(v):
        src, offset = VARIANTS[v]
        mk.matmul_source = lambda: src
        mk.mv_x_shared_offset = offset
        mk.MODULE_KEY = f"{KEY}:probe11:{v}"

    for v in VARIANTS:
        set_variant(v)
        # resident thread blocks an SM of the x_shared kernel of M = 1, float16 x, K = 4096
        geo = mk.MV_GEOMETRIES[1]
        smem = mk.mv_x_shared_offset(*geo) + mk.mv_x_shared_bytes(1, 128)
        name = mk.mv_tc_name(np.dtype("float16"), np.dtype("float16"), 1, geo, x_shared=True)
        kern = mm._kernel_with_smem(cp, name, smem)
        print(f"{v}: {name} dynamic shared {smem} B, {mm._occupancy(cp, kern, smem)} thread blocks an SM", flush=True)
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]
    cases = [(1, "float16"), (1, "float32"), (2, "float16"), (8, "float16"), (8, "float32")]
    for shape in shapes:
        for m, xd in cases:
            row = []
            for v in VARIANTS:
                set_variant(v)
                try:
                    r, _ = bench.measure(shape, m, xd, "matvec_f16tc")
                    row.append(f"{r['time_us']:7.2f} {100*r['frac_copy']:4.1f}%")
                except Exception as exc:
                    row.append(f"FAILED {type(exc).__name__}: {str(exc)[:60]}")
            print(f"{shape[0]}x{shape[1]} M={m} {xd}: " + " | ".join(f"{v} {c}" for v, c in zip(VARIANTS, row)),
                  flush=True)
