"""Device probe, session 13 (H200).

    PYTHONPATH=. python notes/probe_s13.py trace_mv    # matrix-vector M = 1: per-block timeline
    PYTHONPATH=. python notes/probe_s13.py trace_dq    # dequant: per-block timeline
    PYTHONPATH=. python notes/probe_s13.py wr          # write kernels shaped like the dequant tiles

trace_*: the shipped kernel source with timestamp hooks patched in (every
anchor is asserted), compiled as a separate module. Thread 0 of a thread
block appends (globaltimer, clock64, kind | smid | block, payload) to a
device log at: block start, tile start, stage arrival (after the barrier),
tile end, block end. The summaries say where a kernel's time goes: launch
skew, the latency of the first and later stages, the tail, and the bytes
arriving per 0.5 us bin.
"""
import os
import sys

import cupy as cp
import numpy as np

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from gpu_timing import copy_bandwidth, gpu_seconds_per_call  # noqa: E402

from cupyquant.hip import read_source  # noqa: E402

part = sys.argv[1]
CAP = 1 << 18
TRACE_HDR = r"""
__device__ unsigned long long cq_trace_n;
__device__ unsigned long long cq_trace_log[%d * 4];
__device__ __forceinline__ void cq_trace(unsigned kind, unsigned payload) {
    unsigned long long t, c = clock64();
    unsigned smid;
    asm volatile("mov.u64 %%0, %%%%globaltimer;" : "=l"(t));
    asm volatile("mov.u32 %%0, %%%%smid;" : "=r"(smid));
    const unsigned long long i = atomicAdd(&cq_trace_n, 1ULL);
    if (i < %d) {
        cq_trace_log[4 * i] = t;
        cq_trace_log[4 * i + 1] = c;
        cq_trace_log[4 * i + 2] = ((unsigned long long)kind << 56) | ((unsigned long long)smid << 40) | blockIdx.x;
        cq_trace_log[4 * i + 3] = payload;
    }
}
#define CQ_TRACE(kind, payload) do { if (threadIdx.x == 0) cq_trace((kind), (payload)); } while (0)
""" % (CAP, CAP)



from probe_util import ab  # noqa: E402  (shared since session 14; the same function)

def patch(text, anchor, new, count=1):
    assert text.count(anchor) == count, (anchor, text.count(anchor))
    return text.replace(anchor, new)


def read_log(mod):
    n = int(cp.ndarray((1,), cp.uint64, mod.get_global("cq_trace_n")).get()[0])
    n = min(n, CAP)
    log = cp.ndarray((CAP, 4), cp.uint64, mod.get_global("cq_trace_log"))[:n].get()
    return log


def reset_log(mod):
    cp.ndarray((1,), cp.uint64, mod.get_global("cq_trace_n")).fill(0)


def decode(log):
    t = log[:, 0].astype(np.int64)
    kind = (log[:, 2] >> np.uint64(56)).astype(np.int64)
    sm = ((log[:, 2] >> np.uint64(40)) & np.uint64(0xFFFF)).astype(np.int64)
    blk = (log[:, 2] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    pay = log[:, 3].astype(np.int64)
    return t, kind, sm, blk, pay


def pct(a, ps=(0, 10, 50, 90, 100)):
    if len(a) == 0:
        return "-"
    return " ".join(f"{np.percentile(a, p)/1e3:6.2f}" for p in ps)


def timeline(t0, t_end, times, weights, label, bin_ns=500):
    nb = int((t_end - t0) // bin_ns) + 1
    h = np.zeros(nb)
    np.add.at(h, ((times - t0) // bin_ns).astype(np.int64), weights)
    gbps = h / bin_ns  # bytes / ns = GB/s
    print(f"  {label} per {bin_ns} ns bin (GB/s): " + " ".join(f"{v:.0f}" for v in gbps), flush=True)


# ---------------------------------------------------------------- matrix-vector
if part == "trace_mv":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from cupyquant.gpu.modules import get_module
    from test_bench_matmul import get_bench

    kern = read_source(mk.SOURCE_FILE)
    kern = patch(kern, "    int* const queue = XS ? counters + n_tiles + split : nullptr;\n",
                 "    int* const queue = XS ? counters + n_tiles + split : nullptr;\n    CQ_TRACE(0, 0);\n")
    kern = patch(kern, "    auto process_tile = [&](const int tile, const bool first) {\n",
                 "    auto process_tile = [&](const int tile, const bool first) {\n        CQ_TRACE(1, tile);\n")
    kern = patch(kern, "            cq_cp_wait<ST - 2>();\n            __syncthreads();\n            issue(i + ST - 1);\n",
                 "            cq_cp_wait<ST - 2>();\n            __syncthreads();\n            CQ_TRACE(2, (tile << 8) | i);\n"
                 "            issue(i + ST - 1);\n")
    kern = patch(kern, "    };\n    const bool use_queue = XS",
                 "        CQ_TRACE(3, tile);\n    };\n    const bool use_queue = XS")
    kern = patch(kern, "        counters[n_tiles + n_split + split] = 0;\n    }\n#endif\n}\n",
                 "        counters[n_tiles + n_split + split] = 0;\n    }\n    CQ_TRACE(4, 0);\n#endif\n}\n")
    src = "\n".join([read_source("common.h"), TRACE_HDR, read_source(mk.COMMON_FILE), kern,  # helpers: split off in s14
                      read_source(mk.SOURCE_FILE_INT8), ""])
    plain_source = mk.matmul_source
    # qmatmul.MATVEC_PDL = "capture": PDL only while the current stream is captured
    s = cp.cuda.Stream(non_blocking=True)
    seen = {"null stream, eager": mm._matvec_pdl(cp)}
    with s:
        seen["side stream, eager"] = mm._matvec_pdl(cp)
        s.begin_capture()
        seen["side stream, capturing"] = mm._matvec_pdl(cp)
        g = s.end_capture()
        seen["side stream, after capture"] = mm._matvec_pdl(cp)
    print(f"matvec PDL selector: {seen}", flush=True)
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    for shape in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]:
        for m, xd in [(1, "float16"), (8, "float16")]:
            mk.matmul_source = plain_source
            mk.MODULE_KEY = "matmul:Q4_0"
            r, _ = bench.measure(shape, m, xd, "matvec")
            mk.matmul_source = lambda: src
            mk.MODULE_KEY = "matmul:Q4_0:trace"
            rt, _ = bench.measure(shape, m, xd, "matvec")
            print(f"{shape[0]}x{shape[1]} M={m} {xd}: plain {r['time_us']:.2f} us, traced {rt['time_us']:.2f} us "
                  f"(graph replays)", flush=True)
            q, _ = bench.weights(shape)
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
            out = cp.empty((m, shape[0]), xd)
            mod = get_module(mk.MODULE_KEY, src)
            for rep in range(2):
                for w in q[1:]:
                    mm.matmul(x, w, out=out, path="matvec")
                cp.cuda.Device().synchronize()
                reset_log(mod)
                mm.matmul(x, q[0], out=out, path="matvec")
                cp.cuda.Device().synchronize()
            log = read_log(mod)
            t, kind, sm, blk, pay = decode(log)
            t0 = t[kind == 0].min()
            t_end = t[kind == 4].max()
            starts = t[kind == 0] - t0
            ts = np.unique(np.sort(t))
            res = np.diff(ts)
            res = res[res > 0].min() if len(res) else -1
            n_blocks = int((kind == 0).sum())
            n_tiles_done = int((kind == 3).sum())
            print(f"  span {(t_end - t0)/1e3:.2f} us, {n_blocks} blocks on {len(np.unique(sm[kind == 0]))} SMs, "
                  f"{n_tiles_done} tile ends, globaltimer step >= {res} ns, events {len(t)}", flush=True)
            print(f"  block start (us, p0/10/50/90/100): {pct(starts)}", flush=True)
            # per tile: start, stage arrivals, end
            tiles = {}
            for ti, k, p in zip(t - t0, kind, pay):
                if k == 1:
                    tiles.setdefault((int(p), None), {})["start"] = ti
            # stage arrivals keyed by tile (and block, since split-K tiles share a tile id)
            key_start = {}
            first_lat, next_lat, tile_dur, tail_work = [], [], [], []
            order = np.argsort(t, kind="stable")
            cur = {}
            stage_t, stage_i = [], []
            for j in order:
                b, k, p, ti = int(blk[j]), int(kind[j]), int(pay[j]), int(t[j] - t0)
                if k == 1:
                    cur[b] = {"start": ti, "last": ti, "i": -1}
                elif k == 2 and b in cur:
                    c = cur[b]
                    (first_lat if (p & 255) == 0 else next_lat).append(ti - c["last"])
                    c["last"] = ti
                    stage_t.append(ti)
                    stage_i.append(p & 255)
                elif k == 3 and b in cur:
                    tile_dur.append(ti - cur[b]["start"])
            ends = t[kind == 4] - t0
            tile_ends = t[kind == 3] - t0
            print(f"  stage 0 after tile start (us): {pct(np.array(first_lat))}", flush=True)
            print(f"  later stage after previous (us): {pct(np.array(next_lat))}", flush=True)
            print(f"  tile duration (us): {pct(np.array(tile_dur))}", flush=True)
            print(f"  tile ends (us): {pct(tile_ends)}; block ends: {pct(ends)}", flush=True)
            geo_bytes = 16 * 64 * 18  # (16, 64, x) stage of full rows: weight bytes that arrived
            timeline(0, t_end - t0, np.array(stage_t), np.full(len(stage_t), geo_bytes), "stage arrivals x 18.4 KB")
            act = np.zeros(int((t_end - t0) // 500) + 1)
            for b, c in cur.items():
                pass
            print(f"  time to 50% / 90% / 100% of stages: "
                  f"{np.percentile(stage_t, 50)/1e3:.2f} / {np.percentile(stage_t, 90)/1e3:.2f} / "
                  f"{np.max(stage_t)/1e3:.2f} us", flush=True)
    mk.matmul_source = plain_source
    mk.MODULE_KEY = "matmul:Q4_0"

# ---------------------------------------------------------------- dequantization
if part == "trace_dq":
    from cupyquant import FORMATS
    from cupyquant.gpu.dequant import BLOCKS_PER_SM, THREADS, tile_elems
    from cupyquant.gpu.modules import compile_options
    from cupyquant.gpu.platform import device_info
    from cupyquant.testing import sane_blocks

    common = read_source("common.h")
    anchor = "// ------------------------------------------------- the dequantization skeleton"
    common = patch(common, anchor, TRACE_HDR + anchor)
    common = patch(common, "    if (src_aligned && (cq_i64)blockIdx.x < n_tiles) prefetch(blockIdx.x);\n",
                   "    if (src_aligned && (cq_i64)blockIdx.x < n_tiles) prefetch(blockIdx.x);\n    CQ_TRACE(0, 0);\n")
    common = patch(common, "        if (warp_local) CQ_SYNC_WARP(); else __syncthreads();\n        if constexpr (SG > 0) {",
                   "        if (warp_local) CQ_SYNC_WARP(); else __syncthreads();\n        CQ_TRACE(1, (unsigned)tile);\n"
                   "        if constexpr (SG > 0) {")
    common = patch(common, "        if (warp_local) CQ_SYNC_WARP(); else __syncthreads();\n    }\n}\n",
                   "        if (warp_local) CQ_SYNC_WARP(); else __syncthreads();\n        CQ_TRACE(2, (unsigned)tile);\n    }\n}\n")
    ceil = copy_bandwidth(cp)
    print(f"copy {ceil/1e9:.0f} GB/s", flush=True)
    sms = device_info(0)["sm_count"]
    n = 14336 * 4096
    AHEAD = int(os.environ.get("PROBE_AHEAD", "0"))  # L2 prefetch distance (kernels since run 4)
    PERSISTENT = [int(g) for g in os.environ.get("PROBE_PERSISTENT", "").split(",") if g]
    DTYPES = os.environ.get("PROBE_DTYPES", "float32,float16").split(",")
    for name in sys.argv[2:] or ["TQ1_0", "Q4_0", "Q2_K"]:
        fmt = FORMATS[name]
        src = fmt.source.replace(read_source("common.h"), common)
        assert src != fmt.source
        mod = cp.RawModule(code=src, options=compile_options())
        host = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0))
        k = max(1, -(-(300 << 20) // host.nbytes))
        ins = [cp.asarray(host) for _ in range(k)]
        for dt in DTYPES:
            out = cp.empty(n, dt)
            ref = fmt.dequant(ins[0], out=cp.empty(n, dt))
            kern = mod.get_function(fmt.kernel_name(out.dtype))
            n_tiles = -(-n // tile_elems(fmt))
            for grid in [min(n_tiles, sms * BLOCKS_PER_SM)] + [sms * g for g in PERSISTENT]:

                def launch(i):
                    kern((grid,), (THREADS,), (ins[i], out, np.int64(n), np.uint64(0), np.int32(AHEAD)))
                t_plain, _, _ = gpu_seconds_per_call([lambda i=i: fmt.dequant(ins[i], out=out) for i in range(k)])
                t_tr, _, _ = gpu_seconds_per_call([lambda i=i: launch(i) for i in range(k)])
                same = bool((out.view(cp.uint8) == ref.view(cp.uint8)).all())
                moved = host.nbytes + out.nbytes
                print(f"{name} -> {dt}: plain {t_plain*1e6:.1f} us ({moved/t_plain/ceil:.3f}), traced {t_tr*1e6:.1f} us "
                      f"({moved/t_tr/ceil:.3f}) same={same}; tiles {n_tiles}, grid {grid}", flush=True)
                for rep in range(2):
                    for i in range(1, k):
                        launch(i)
                    cp.cuda.Device().synchronize()
                    reset_log(mod)
                    launch(0)
                    cp.cuda.Device().synchronize()
                t, kind, sm, blk, pay = decode(read_log(mod))
                t0 = t[kind == 0].min()
                t_end = t[kind == 2].max()
                st = {int(b): int(x - t0) for b, x in zip(blk[kind == 0], t[kind == 0])}
                ar = {int(b): int(x - t0) for b, x in zip(blk[kind == 1], t[kind == 1])}
                en = {int(b): int(x - t0) for b, x in zip(blk[kind == 2], t[kind == 2])}
                bl = sorted(st)
                lat = np.array([ar[b] - st[b] for b in bl if b in ar])
                dec = np.array([en[b] - ar[b] for b in bl if b in en and b in ar])
                life = np.array([en[b] - st[b] for b in bl if b in en])
                # resident blocks over time and the gap between a block's end and the next start on its SM
                print(f"  span {(t_end - t0)/1e3:.2f} us; {len(bl)} blocks", flush=True)
                print(f"  block start (us): {pct(np.array([st[b] for b in bl]))}", flush=True)
                print(f"  load latency (start -> tile staged, us): {pct(lat)}", flush=True)
                print(f"  decode+store (staged -> warp 0 done, us): {pct(dec)}", flush=True)
                print(f"  block life (us): {pct(life)}", flush=True)
                te = tile_elems(fmt) * out.itemsize
                timeline(0, t_end - t0, np.array([en[b] for b in bl if b in en]), np.full(len(en), te),
                         f"tile ends x {te >> 10} KiB output")
                tb = np.arange(0, t_end - t0 + 500, 500)
                res = [int(sum(1 for b in bl if st[b] <= x < en.get(b, 1 << 62))) for x in tb]
                print("  resident blocks per 0.5 us: " + " ".join(map(str, res)), flush=True)
                ins_done = None
        ins = out = ref = None
        cp.get_default_memory_pool().free_all_blocks()

# ---------------------------------------------------------------- write kernels
if part == "wr":
    from cupyquant import FORMATS
    from cupyquant.gpu.platform import device_info
    from cupyquant.testing import sane_blocks
    src = r"""
    // grid-stride 16-byte streaming stores
    extern "C" __global__ void __launch_bounds__(256, 4) wr_grid(float4* p, const uint4*, long long n4) {
        for (long long i = blockIdx.x * 256LL + threadIdx.x; i < n4; i += (long long)gridDim.x * 256)
            __stcs(p + i, make_float4(i, 1.f, 2.f, 3.f));
    }
    // the dequant f32 shape: one 64 KiB tile a block, a warp's 8 KiB slice,
    // 8 groups of two 512-byte warp stores; LOAD: first a 16-byte load per lane
    // of the warp's slice of a 54 * 64 byte input (TQ1_0) and its use.
    template <bool LOAD, bool STREAM>
    __device__ void tiles(float4* p, const uint4* src, long long n4) {
        const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
        float4* w = p + blockIdx.x * 4096LL + warp * 512;
        float a = lane;
        if (LOAD) {
            const int nv = 54 * 64 / 16 / 8;  // 27 pieces a warp
            uint4 v = lane < nv ? src[blockIdx.x * (54 * 64 / 16 * 1LL) + warp * nv + lane] : make_uint4(0, 0, 0, 0);
            __shared__ uint4 s[256];
            s[threadIdx.x] = v;
            __syncwarp();
            a = __uint_as_float(s[(threadIdx.x ^ 1)].x & 0x3fffffff);
        }
#pragma unroll
        for (int u = 0; u < 8; ++u)
#pragma unroll
            for (int k = 0; k < 2; ++k) {
                float4 v = make_float4(a, a + u, a + k, a);
                if (STREAM) __stcs(w + u * 64 + k * 32 + lane, v); else w[u * 64 + k * 32 + lane] = v;
            }
    }
    extern "C" __global__ void __launch_bounds__(256, 4) wr_tiles(float4* p, const uint4* s, long long n4) { tiles<false, true>(p, s, n4); }
    extern "C" __global__ void __launch_bounds__(256, 4) wr_tiles_plain(float4* p, const uint4* s, long long n4) { tiles<false, false>(p, s, n4); }
    extern "C" __global__ void __launch_bounds__(256, 4) ldwr_tiles(float4* p, const uint4* s, long long n4) { tiles<true, true>(p, s, n4); }
    """
    mod = cp.RawModule(code=src, options=("--std=c++17",))
    ceil = copy_bandwidth(cp)
    sms = device_info(0)["sm_count"]
    n = 14336 * 4096
    n4 = n // 4
    outs = [cp.empty(n, cp.float32) for _ in range(2)]
    fmt = FORMATS["TQ1_0"]
    host = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0))
    ins = [cp.asarray(host) for _ in range(4)]
    print(f"copy {ceil/1e9:.0f} GB/s; output {n*4/1e6:.1f} MB", flush=True)
    rows = []
    for name in ["wr_grid", "wr_tiles", "wr_tiles_plain", "ldwr_tiles"]:
        f = mod.get_function(name)
        grids = [sms * g for g in (4, 8)] if name == "wr_grid" else [n // 16384]
        for grid in grids:
            calls = [lambda i=i: f((grid,), (256,), (outs[i % 2], ins[i % 4], np.int64(n4))) for i in range(4)]
            t, _, _ = gpu_seconds_per_call(calls)
            moved = n * 4 + (host.nbytes if name.startswith("ld") else 0)
            print(f"{name:15s} grid {grid:5d}: {t*1e6:6.1f} us  {moved/t/ceil:.3f} of the copy", flush=True)
    for name in ["TQ1_0", "Q4_0", "F32"]:
        fmt = FORMATS[name]
        h = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0))
        ii = [cp.asarray(h) for _ in range(max(2, -(-(200 << 20) // h.nbytes)))]
        t, _, _ = gpu_seconds_per_call([lambda i=i: fmt.dequant(ii[i % len(ii)], out=outs[i % 2]) for i in range(len(ii))])
        print(f"dequant {name:6s} -> f32: {t*1e6:6.1f} us  {(h.nbytes + n*4)/t/ceil:.3f} of the copy", flush=True)
        ii = None

# ---------------------------------------------------------------- matrix-vector geometries
if part == "mvgeo":
    # run 2: deeper stage rings (more of K in flight a thread block): the
    # timelines of run 1 show 4096 x 4096 and 4096 x 14336 (256 tiles, fewer
    # than the resident thread blocks) as serial round trips, one stage of
    # 18.4 KB in flight a thread block.
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    NEW = [(16, 64, 4), (16, 32, 4), (16, 32, 6), (16, 64, 5)]
    extra = ["CQ_MV_TC_KERNEL_X(f16, false, 1, f16, cq_f16, 16, 32, 3, true, _xs, CQ_MV_MIN_BLOCKS)"]
    for rt, kb, st in NEW:
        extra += [f"CQ_MV_TC_KERNEL_X(f16, false, 1, f16, cq_f16, {rt}, {kb}, {st}, true, _xs, CQ_MV_MIN_BLOCKS)",
                  f"CQ_MV_TC_KERNEL_X(f32, true, 1, f32, float, {rt}, {kb}, {st}, true, _xs, CQ_MV_MIN_BLOCKS)",
                  f"CQ_MV_TC_KERNEL(f16, false, 1, f16, cq_f16, {rt}, {kb}, {st})"]
    mk.EXTRA_INSTANTIATIONS = "\n".join(extra) + "\n"
    mk.MODULE_KEY += ":probe13geo"
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    GEOS = [(16, 64, 2), (16, 64, 3), (16, 32, 3)] + NEW

    def geo(g):
        def apply():
            mm.MV_GEOMETRY = g
        return apply

    SET = {"auto": geo(None), **{f"{g[1]}x{g[2]}": geo(g) for g in GEOS}, "auto2": geo(None)}
    cases = [(1, "float16"), (1, "float32"), (2, "float16"), (8, "float16")]
    for shape in [(4096, 4096), (4096, 14336), (14336, 4096), (128256, 4096)]:
        for m, xd in cases:
            def f(shape=shape, m=m, xd=xd):
                r, _ = bench.measure(shape, m, xd, "matvec")
                return f"{r['time_us']:6.2f}"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]}", f, SET)
    # accuracy of the new geometries (a wrong kernel must not look fast)
    q, _ = bench.weights((4096, 14336))
    for g in GEOS:
        mm.MV_GEOMETRY = g
        for m, xd in cases:
            x = cp.random.standard_normal((m, 14336), dtype=cp.float32).astype(xd)
            y = mm.matmul(x, q[0], path="matvec")
            ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
            err = float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref))
            print(f"accuracy {g} M={m} {xd}: {err:.2e}", flush=True)
    mm.MV_GEOMETRY = None

# ---------------------------------------------------------------- L2 prefetch A/B
if part == "dql2":
    # run 3 (at commit "L2 prefetch hints"): CQ_DQ_L2_AHEAD -D knob, 0 / 256 /
    # 512 / 1024. Since then the distance is a kernel argument chosen by
    # gpu/dequant.py (l2_ahead); this part compares "auto" (that choice) with
    # fixed distances through launch_dequant(ahead=...).
    from cupyquant import FORMATS
    from cupyquant.gpu.dequant import l2_ahead, launch_dequant
    from cupyquant.gpu.platform import device_info
    from cupyquant.testing import sane_blocks
    ceil = copy_bandwidth(cp)
    l2 = device_info(0)["l2_bytes"]
    print(f"copy {ceil/1e9:.0f} GB/s; L2 {l2 >> 20} MiB", flush=True)
    n = 14336 * 4096
    AHEADS = [None if a == "auto" else int(a) for a in os.environ.get("PROBE_AHEADS", "0,auto,0,auto").split(",")]
    names = sys.argv[2:] or list(FORMATS)
    for name in names:
        fmt = FORMATS[name]
        host = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0))
        k = max(2, -(-(250 << 20) // host.nbytes))
        ins = [cp.asarray(host) for _ in range(k)]
        for dt in ("float32", "float16"):
            out = cp.empty(n, dt)
            ref = fmt.dequant(ins[0], out=cp.empty(n, dt))
            cells = []
            for a in AHEADS:
                calls = [lambda i=i: launch_dequant(fmt, ins[i], out, ahead=a) for i in range(k)]
                t, _, _ = gpu_seconds_per_call(calls)
                out.fill(0)
                launch_dequant(fmt, ins[0], out, ahead=a)
                same = bool((out.view(cp.uint8) == ref.view(cp.uint8)).all())
                label = f"auto={l2_ahead(fmt, out.dtype, l2)}" if a is None else str(a)
                cells.append(f"{label}: {t*1e6:6.1f} us {(host.nbytes + out.nbytes)/t/ceil:.3f}{'' if same else ' MISMATCH'}")
            print(f"{name:8s} {dt:8s} " + " | ".join(cells), flush=True)
        ins = out = ref = None
        cp.get_default_memory_pool().free_all_blocks()

if part == "mvl2":
    # (run 3 only: the CQ_MV_L2 code was removed after it measured slower)
    # run 3: matrix-vector with L2 prefetch of a tile's later stages (1) and of
    # a persistent thread block's next tile (2), against none (0); the float16
    # one-column-tile kernels without x_shared at (16, 64, 2) against auto
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    plain_source, plain_key = mk.matmul_source, mk.MODULE_KEY
    srcs = {v: f"#define CQ_MV_L2 {v}\n" + plain_source() for v in (0, 1, 2)}

    def variant(v, geo=None):
        def apply():
            mk.matmul_source = lambda: srcs[v]
            mk.MODULE_KEY = f"{plain_key}:l2{v}"
            mm.MV_GEOMETRY = geo
        return apply
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    SET = {"L0": variant(0), "L1": variant(1), "L2": variant(2), "L0b": variant(0), "L1b": variant(1)}
    SET64 = {"L0 642": variant(0, (16, 64, 2)), "L1 642": variant(1, (16, 64, 2)), "L2 642": variant(2, (16, 64, 2)),
             "L0 auto": variant(0), "L1 auto": variant(1)}

    for shape in [(4096, 4096), (4096, 14336), (14336, 4096), (128256, 4096)]:
        for m, xd, sets in [(1, "float16", SET), (1, "float32", SET), (2, "float16", SET), (8, "float16", SET64)]:
            def f(shape=shape, m=m, xd=xd):
                r, _ = bench.measure(shape, m, xd, "matvec")
                return f"{r['time_us']:6.2f}"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]}", f, sets)
    q, _ = bench.weights((14336, 4096))
    for m, xd in [(1, "float16"), (1, "float32"), (8, "float16")]:
        x = cp.random.standard_normal((m, 4096), dtype=cp.float32).astype(xd)
        ys = []
        for v in (0, 1, 2):
            variant(v)()
            ys.append(mm.matmul(x, q[0], path="matvec"))
        print(f"bit-equal across L2 variants M={m} {xd}: {[bool((ys[0] == y).all()) for y in ys[1:]]}", flush=True)
    mk.matmul_source, mk.MODULE_KEY, mm.MV_GEOMETRY = plain_source, plain_key, None

if part == "mvsplit":
    # run 6: K split for M = 1 (MV_BLOCKS_PER_SM) and for M >= 2 with long K
    # (MV_BLOCKS_PER_SM_LONG_K). Run 1's timelines: 4096 x 14336 at M = 1 runs
    # 256 thread blocks (2 an SM, 4 warps a scheduler) whose stages arrive
    # every ~1.5 us, and deeper rings (runs 2-3) were no faster: the compute of
    # a stage at that occupancy, not the memory latency, looks like the limit.
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)

    def bps(v, long_k):
        def apply():
            mm.MV_BLOCKS_PER_SM = v
            mm.MV_BLOCKS_PER_SM_LONG_K = long_k
        return apply

    SET = {f"{v}": bps(v, v) for v in (0.5, 1.0, 1.5, 2.0, 3.0)}
    SET["0.5/1.0"] = bps(0.5, 1.0)
    for shape in [(4096, 14336), (4096, 4096), (14336, 4096)]:
        for m, xd in [(1, "float16"), (1, "float32"), (8, "float16"), (4, "float16")]:
            def f(shape=shape, m=m, xd=xd):
                r, _ = bench.measure(shape, m, xd, "matvec")
                plan = [p for k, p in mm._mv_plans.items() if k[3] == m and k[4] == shape[1] // 32
                        and k[5] == -(-shape[0] // 16) and k[10] == mm.MV_BLOCKS_PER_SM
                        and k[1] == cp.dtype(xd).char]
                g = f"g{plan[-1][3]}s{plan[-1][4]}" if plan else "?"
                return f"{r['time_us']:6.2f} ({g})"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd[:5]}", f, SET)
    bps(0.5, 1.0)()

if part == "mvxs8":
    # run 7: x_shared records of 64 KiB (float16 x, M = 8, K = 4096) on the
    # many-tile shapes, where each of 8016 thread blocks otherwise reads its 8
    # rows of x (64 KiB) from L2: persistent thread blocks (2 an SM) would copy
    # them once each. Default: records over 32 KiB only when one wave.
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)

    def xs(limit, any_):
        def apply():
            mm.MV_X_SHARED_MAX = {"float16": limit, "float32": 96 << 10}
            mm.MV_X_SHARED_ANY = any_
        return apply
    SET = {"32K": xs(32 << 10, 32 << 10), "64K": xs(64 << 10, 64 << 10), "32Kb": xs(32 << 10, 32 << 10),
           "64Kb": xs(64 << 10, 64 << 10)}
    for shape in [(128256, 4096), (14336, 4096), (4096, 4096)]:
        for m in (8, 6, 4):
            def f(shape=shape, m=m):
                r, _ = bench.measure(shape, m, "float16", "matvec")
                return f"{r['time_us']:7.2f}"
            ab(f"{shape[0]}x{shape[1]} M={m} float16", f, SET)
    xs(32 << 10, 32 << 10)()

if part == "ncu_mv":
    # run 7: the kernel for ncu (notes/device_s13_run7.sh profiles one launch)
    import cupyquant.qmatmul as mm
    from test_bench_matmul import random_q4_0_device
    n, k = (int(v) for v in os.environ.get("PROBE_SHAPE", "4096x14336").split("x"))
    w = random_q4_0_device(n, k, seed=0)
    x = cp.random.standard_normal((1, k), dtype=cp.float32).astype(cp.float16)
    for _ in range(6):
        y = mm.matmul(x, w)
    cp.cuda.Device().synchronize()
    print("done", y.shape, flush=True)

if part == "m8check":
    # run 9: which kernel the shipped rules pick at M = 8 float16 x, and its time
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    for shape in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]:
        for m in (8, 1):
            mm._mv_plans.clear()
            r, _ = bench.measure(shape, m, "float16", "matvec")
            names = [p[0].name for p in mm._mv_plans.values()]
            print(f"{shape[0]}x{shape[1]} M={m} float16: {r['time_us']:7.2f} us  {names}", flush=True)
