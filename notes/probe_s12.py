"""Device probe, session 12 (H200).

    PYTHONPATH=. python notes/probe_s12.py pdl_dq [FORMAT...]  # dequant: PDL off / on (same kernels)
    PYTHONPATH=. python notes/probe_s12.py pdl_mv               # matrix-vector: PDL off / on; K split rule
    PYTHONPATH=. python notes/probe_s12.py ceil                 # read-only kernel: PDL off / on
    PYTHONPATH=. python notes/probe_s12.py load                 # loader timeline and host/GPU contention
    PYTHONPATH=. python notes/probe_s12.py mvgeo                # matrix-vector with 32-row thread blocks
    PYTHONPATH=. python notes/probe_s12.py launchcost           # host cost of a launch, PDL off / on

PDL = programmatic dependent launch (cupyquant/gpu/launch.py): the kernels
are the same in both columns (they start with CQ_GRID_DEPENDENCY(), a no-op
without the launch attribute); only the launch differs.
"""
import os
import sys
import threading
import time

import cupy as cp
import numpy as np

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from gpu_timing import copy_bandwidth, gpu_seconds_per_call  # noqa: E402

import cupyquant.gpu.launch as gpu_launch  # noqa: E402
import cupyquant.qmatmul as mm  # noqa: E402

part = sys.argv[1]


from probe_util import ab  # noqa: E402  (shared since session 14; the same function)


def pdl(on):
    def apply():
        gpu_launch.PDL = on
    return apply


PDL_AB = {"off": pdl(False), "on": pdl(True), "off2": pdl(False), "on2": pdl(True)}

if part == "pdl_dq":
    from cupyquant import FORMATS
    from cupyquant.testing import sane_blocks
    ceil = copy_bandwidth(cp)
    print(f"copy {ceil/1e9:.0f} GB/s; pdl usable: {gpu_launch.pdl_usable(0)}", flush=True)
    n = 14336 * 4096
    names = sys.argv[2:] or ["Q4_0", "Q2_K", "Q6_K", "TQ1_0", "TQ2_0", "MXFP4", "IQ2_XXS", "IQ1_M", "F16", "F32"]
    for name in names:
        fmt = FORMATS[name]
        host = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0))
        k = max(1, -(-(200 << 20) // host.nbytes))
        ins = [cp.asarray(host) for _ in range(k)]
        for dt in ("float16", "float32"):
            out = cp.empty(n, dt)
            ref = fmt.dequant(ins[0], out=cp.empty(n, dt))

            def one():
                calls = [lambda i=i: fmt.dequant(ins[i], out=out) for i in range(k)]
                t, method, _ = gpu_seconds_per_call(calls, min_calls=20, replays=5)
                same = bool((out.view(cp.uint16 if dt == "float16" else cp.uint32)
                             == ref.view(cp.uint16 if dt == "float16" else cp.uint32)).all())
                return f"{t*1e6:6.1f}us {(host.nbytes + out.nbytes)/t/ceil:5.3f}{'' if same else ' MISMATCH'}"
            ab(f"{name:8s} {dt:8s}", one, PDL_AB)
        ins = out = ref = None
        cp.get_default_memory_pool().free_all_blocks()

if part == "pdl_mv":
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s; pdl usable: {gpu_launch.pdl_usable(0)}", flush=True)
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]

    def measure(shape, m, xd, path="matvec"):
        def f():
            r, _ = bench.measure(shape, m, xd, path)
            return f"{r['time_us']:7.2f} {100*r['frac_copy']:4.1f}%"
        return f
    import cupyquant.matmul_kernels as mk
    KEY, SRC = mk.MODULE_KEY, mk.matmul_source()

    def mv_variant(on, early):
        # run 2: "late" = griddepcontrol.wait only (the default source),
        # "early" = launch_dependents + wait at the start (run 1's kernels)
        def apply():
            gpu_launch.PDL = on
            src = ("#define CQ_MV_EARLY_TRIGGER 1\n" + SRC) if early else SRC
            mk.matmul_source = lambda: src
            mk.MODULE_KEY = f"{KEY}:probe12:{int(early)}"
        return apply
    MV_AB = {"off": mv_variant(False, False), "late": mv_variant(True, False),
             "early": mv_variant(True, True), "off2": mv_variant(False, False),
             "late2": mv_variant(True, False)}
    for shape in shapes:
        for m, xd in [(1, "float16"), (1, "float32"), (2, "float16"), (8, "float16"), (8, "float32")]:
            ab(f"{shape[0]}x{shape[1]} M={m} {xd}", measure(shape, m, xd), MV_AB)
    mv_variant(True, False)()
    if os.environ.get("PROBE_LONGK", "0") == "0":
        shapes_lk = []
    else:
        shapes_lk = [(4096, 14336), (14336, 4096), (4096, 4096)]

    def lk(v):
        def apply():
            mm.MV_BLOCKS_PER_SM_LONG_K = v
        return apply
    for shape in shapes_lk:
        for m in (2, 4, 8):
            ab(f"longK {shape[0]}x{shape[1]} M={m} float16", measure(shape, m, "float16"),
               {"0.5": lk(0.5), "1.0": lk(1.0), "0.5b": lk(0.5), "1.0b": lk(1.0)})
    mm.MV_BLOCKS_PER_SM_LONG_K = 1.0
    # accuracy spot check with PDL on, back to back on one stream: M = 1, 3, 8
    for shape in shapes[:3]:
        q, w16 = bench.weights(shape)
        for m in (1, 3, 8):
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32)
            ys = [mm.matmul(x, w) for w in q[:4]]
            ref = [(x.astype(cp.float64) @ q_w.dequant(dtype="float32").astype(cp.float64).T) for q_w in q[:4]]
            err = max(float(cp.linalg.norm(y - r) / cp.linalg.norm(r)) for y, r in zip(ys, ref))
            print(f"accuracy {shape} M={m} float32 x, PDL on, 4 back-to-back: max rel err {err:.2e}", flush=True)

if part == "ceil":
    # A kernel that only reads (16-byte loads, grid-stride, 4 in flight a
    # thread), with CQ_GRID_DEPENDENCY at its start: how far below the copy
    # rate a read of this size is, and what PDL changes.
    ceil = copy_bandwidth(cp)
    print(f"copy {ceil/1e9:.0f} GB/s", flush=True)
    src = r"""
    extern "C" __global__ void rd(const uint4* __restrict__ p, long long n, unsigned* out) {
        asm volatile("griddepcontrol.launch_dependents;\n\tgriddepcontrol.wait;" ::: "memory");
        unsigned acc = 0;
        const long long stride = (long long)gridDim.x * blockDim.x;
        long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
        for (; i + 3 * stride < n; i += 4 * stride) {
            uint4 a = __ldcs(p + i), b = __ldcs(p + i + stride), c = __ldcs(p + i + 2 * stride), d = __ldcs(p + i + 3 * stride);
            acc ^= a.x ^ b.y ^ c.z ^ d.w;
        }
        for (; i < n; i += stride) acc ^= __ldcs(p + i).x;
        if (acc == 0x12345678u) out[0] = acc;
    }"""
    fn = cp.RawModule(code=src).get_function("rd")
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    sink = cp.zeros(1, cp.uint32)
    for nbytes in (4096 * 4096 * 9 // 16, 14336 * 4096 * 9 // 16, 128256 * 4096 * 9 // 16):
        k = max(2, -(-(200 << 20) // nbytes))
        bufs = [cp.empty(nbytes, cp.uint8) for _ in range(k)]
        n16 = nbytes // 16
        for per_sm in (4, 8):
            def one():
                calls = [lambda b=b: gpu_launch.launch(fn, (sms * per_sm,), (256,), (b, np.int64(n16), sink), pdl=True)
                         for b in bufs]
                t, _, _ = gpu_seconds_per_call(calls, min_calls=32, replays=5)
                return f"{t*1e6:7.2f}us {nbytes/t/ceil:5.3f}"
            ab(f"read {nbytes/1e6:6.1f} MB grid {per_sm}/SM", one, PDL_AB)
        bufs = None
        cp.get_default_memory_pool().free_all_blocks()

if part == "load":
    import cupyx
    from cupyquant import FORMATS, load_gguf
    from cupyquant.gpu import loader as gl
    from cupyquant.gpu.dequant import launch_dequant
    from test_bench_load import (LAYERS, model_specs, read_whole, tensor_layout, write_model)
    path = "/tmp/probe12_model.gguf"
    if not os.path.exists(path):
        write_model(path, model_specs(LAYERS), {})
    print(f"page cache read {read_whole(path):.1f} GB/s", flush=True)
    infos, data_offset = tensor_layout(path)
    nbytes = infos[-1].offset + infos[-1].nbytes - data_offset
    print(f"{nbytes/1e9:.2f} GB of tensors", flush=True)

    def timed(**kw):
        cp.cuda.Device().synchronize()
        t0 = time.perf_counter()
        res = load_gguf(path, device=0, progress=False, **kw)
        cp.cuda.Device().synchronize()
        return res, time.perf_counter() - t0

    for _ in range(2):
        res, t = timed()
        del res
    # pinned H2D ceiling
    pinned = cupyx.empty_pinned(nbytes, dtype=np.uint8)
    with open(path, "rb", buffering=0) as f:
        f.seek(data_offset)
        view, done = memoryview(pinned), 0
        while done < nbytes:
            done += f.readinto(view[done:])
        view.release()
    dev = cp.empty(nbytes, cp.uint8)
    st = cp.cuda.Stream(non_blocking=True)
    ts = []
    for _ in range(4):
        a, b = cp.cuda.Event(), cp.cuda.Event()
        a.record(st)
        cp.cuda.runtime.memcpyAsync(dev.data.ptr, pinned.ctypes.data, nbytes, cp.cuda.runtime.memcpyHostToDevice, st.ptr)
        b.record(st)
        b.synchronize()
        ts.append(cp.cuda.get_elapsed_time(a, b) / 1e3)
    h2d = sorted(ts)[1]
    del dev
    print(f"pinned H2D {h2d*1e3:.1f} ms ({nbytes/h2d/1e9:.1f} GB/s)", flush=True)
    # launch cost on the host alone (no copy threads): tiny Q4_K pieces
    fmt = FORMATS["Q4_K"]
    tiny = cp.zeros(fmt.type_size * 16, cp.uint8)
    tout = cp.empty(fmt.block_size * 16, cp.float16)
    for flag in (False, True, False, True):
        launch_dequant(fmt, tiny, tout, pdl=flag)
        cp.cuda.Device().synchronize()
        t0 = time.perf_counter()
        for _ in range(500):
            launch_dequant(fmt, tiny, tout, pdl=flag)
        t = (time.perf_counter() - t0) / 500
        cp.cuda.Device().synchronize()
        print(f"launch_dequant host cost, pdl={flag}: {t*1e6:.1f} us a launch", flush=True)
    # --- timeline of one load: host pieces, chunk dispatches, GPU intervals
    T0 = [0.0]
    pieces = []          # (thread, start, end, bytes)
    orig_read = gl._Reader.read_into

    def read_into(self, fi, off, dst):
        s = time.perf_counter()
        orig_read(self, fi, off, dst)
        pieces.append((threading.get_ident(), s - T0[0], time.perf_counter() - T0[0], dst.size))
    gl._Reader.read_into = read_into
    chunks_log = []      # (k, slot, bytes, t_dispatch_enter, t_futs_done, t_exit, ev0, ev1)
    waits = []           # (t_start, t_end) main thread waiting for a slot
    ref_ev = [None]
    orig_dispatch = gl._Load.dispatch

    def dispatch(self, chunk, slot, futs):
        t_in = time.perf_counter() - T0[0]
        for f in futs:
            f.result()
        t_done = time.perf_counter() - T0[0]
        stream = self.streams[chunk.device][slot]
        e0 = cp.cuda.Event()
        e0.record(stream)
        orig_dispatch(self, chunk, slot, futs)
        e1 = cp.cuda.Event()
        e1.record(stream)
        chunks_log.append((len(chunks_log), slot, chunk.end - chunk.start, t_in, t_done,
                           time.perf_counter() - T0[0], e0, e1))
    gl._Load.dispatch = dispatch
    orig_mark = gl._Load.mark_slot_free

    class TimedEvent:
        def __init__(self, ev):
            self.ev = ev

        def synchronize(self):
            s = time.perf_counter() - T0[0]
            self.ev.synchronize()
            waits.append((s, time.perf_counter() - T0[0]))

    def mark_slot_free(self, slot, stream):
        orig_mark(self, slot, stream)
        self.slot_free[slot] = TimedEvent(self.slot_free[slot])
    gl._Load.mark_slot_free = mark_slot_free
    orig_start = gl._Load.start_fills

    def setter(**kw):
        def apply():
            for k, v in kw.items():
                if k == "early":
                    gl._Load.start_fills = orig_start if v else (lambda self: None)
                else:
                    setattr(gl, k, v)
        return apply
    base = dict(early=True, PART_BYTES=4 << 20, HOST_THREADS=12, LOOKAHEAD=2, PDL=False)
    CONFIGS = [("new", {}), ("old flow", dict(early=False)), ("pdl", dict(PDL=True)),
               ("part 8M", dict(PART_BYTES=8 << 20)), ("part 16M", dict(PART_BYTES=16 << 20)),
               ("threads 16", dict(HOST_THREADS=16)), ("threads 8", dict(HOST_THREADS=8)),
               ("look 3 part 8M", dict(LOOKAHEAD=3, PART_BYTES=8 << 20)), ("new again", {})]
    if os.environ.get("PROBE_LOAD_AB"):   # run 4: the early fills alone, alternating
        CONFIGS = [("new", {}), ("old flow", dict(early=False))] * 3
    for rep, (cname, kw) in enumerate(CONFIGS * 1):
        setter(**{**base, **kw})()
        res, _ = timed()   # warm-up with this setting
        del res
        all_t = []
        for _ in range(4):
            res, t = timed()
            del res
            all_t.append(t)
        pieces.clear(); chunks_log.clear(); waits.clear()
        cp.cuda.Device().synchronize()
        ref = cp.cuda.Event()
        ref.record(cp.cuda.get_current_stream())
        T0[0] = time.perf_counter()
        res = load_gguf(path, device=0, progress=False)
        cp.cuda.Device().synchronize()
        total = time.perf_counter() - T0[0]
        del res
        # GPU intervals relative to ref (ref recorded at ~T0)
        gpu = [(cp.cuda.get_elapsed_time(ref, c[6]) / 1e3, cp.cuda.get_elapsed_time(ref, c[7]) / 1e3) for c in chunks_log]

        def union(iv):
            iv = sorted(iv)
            tot, cur_s, cur_e = 0.0, None, None
            for s, e in iv:
                if cur_e is None or s > cur_e:
                    if cur_e is not None:
                        tot += cur_e - cur_s
                    cur_s, cur_e = s, e
                else:
                    cur_e = max(cur_e, e)
            return tot + ((cur_e - cur_s) if cur_e is not None else 0.0)
        host_busy = union([(p[1], p[2]) for p in pieces])
        piece_sum = sum(p[2] - p[1] for p in pieces)
        wait_slot = sum(e - s for s, e in waits)
        wait_fill = sum(c[4] - c[3] for c in chunks_log)
        disp = sum(c[5] - c[4] for c in chunks_log)
        first_piece = min(p[1] for p in pieces)
        last_piece = max(p[2] for p in pieces)
        print(f"\n{cname}: loads " + " ".join(f"{t*1e3:.1f}" for t in all_t) + f" ms (median ratio "
              f"{sorted(all_t)[len(all_t)//2]/h2d:.2f}); timeline: total {total*1e3:.1f} ms; {len(chunks_log)} chunks, {len(pieces)} pieces, "
              f"threads {len(set(p[0] for p in pieces))}", flush=True)
        print(f"  host pieces: first start {first_piece*1e3:.1f}, last end {last_piece*1e3:.1f} ms; any busy "
              f"{host_busy*1e3:.1f} ms; sum of piece times {piece_sum*1e3:.1f} ms "
              f"({nbytes/piece_sum*len(set(p[0] for p in pieces))/1e9:.1f} GB/s a thread-set)", flush=True)
        print(f"  GPU chunk intervals: first start {min(g[0] for g in gpu)*1e3:.1f}, last end "
              f"{max(g[1] for g in gpu)*1e3:.1f} ms; busy (union) {union(gpu)*1e3:.1f} ms", flush=True)
        print(f"  main thread: waiting for slots {wait_slot*1e3:.1f} ms, for fills {wait_fill*1e3:.1f} ms, "
              f"launching {disp*1e3:.1f} ms", flush=True)
        if rep == 0:
            for c, g in zip(chunks_log, gpu):
                print(f"  chunk {c[0]:3d} slot {c[1]} {c[2]/2**20:5.1f} MiB: dispatch {c[3]*1e3:6.2f} fill done "
                      f"{c[4]*1e3:6.2f} launched {c[5]*1e3:6.2f} | GPU {g[0]*1e3:6.2f}-{g[1]*1e3:6.2f}", flush=True)
    setter(**base)()
    gl._Reader.read_into = orig_read
    gl._Load.dispatch = orig_dispatch
    gl._Load.mark_slot_free = orig_mark

    # --- contention: host fill alone, GPU reading pinned memory alone, both at once
    view = gl.pinned_view_on_device(cp, pinned, 0)
    biggest = max(i.n_elements for i in infos)
    scratch = cp.empty(biggest, cp.float16)

    def gpu_read():
        for info in infos:
            a = info.offset - data_offset
            launch_dequant(FORMATS[info.qtype], view[a:a + info.nbytes], scratch[:info.n_elements], stream=st)

    def gpu_alone():
        st.synchronize()
        t0 = time.perf_counter()
        gpu_read()
        st.synchronize()
        return time.perf_counter() - t0
    from test_bench_load import host_fill_gbps
    gpu_alone()
    g1 = min(gpu_alone() for _ in range(3))
    f1 = nbytes / (max(host_fill_gbps(path, "mmap", infos, data_offset) for _ in range(3)) * 1e9)
    both = []
    for _ in range(3):
        st.synchronize()
        t0 = time.perf_counter()
        gpu_read()                       # queued, runs on the GPU while the host fills
        f = nbytes / (host_fill_gbps(path, "mmap", infos, data_offset) * 1e9)
        t_fill_done = time.perf_counter() - t0
        st.synchronize()
        both.append((time.perf_counter() - t0, t_fill_done, f))
    print(f"\ncontention: GPU reading pinned alone {g1*1e3:.1f} ms, host fill alone {f1*1e3:.1f} ms; both at once "
          + "; ".join(f"total {a*1e3:.1f} (fill {c*1e3:.1f})" for a, b, c in both), flush=True)

if part == "mvgeo":
    # run 3: 32-row thread blocks (two 16-row tiles, 4 warps a tile), so that
    # 14336 x 4096 (448 tiles of 32 rows) runs in one round of resident
    # thread blocks instead of 896 tiles of 16 over 660 (5 an SM).
    import cupyquant.matmul_kernels as mk
    from test_bench_matmul import get_bench
    GEOS = [(32, 32, 2), (32, 16, 4)]
    extra = []
    for rt, kb, st in GEOS:
        extra += [f"CQ_MV_TC_KERNEL_X(f16, false, 1, f16, cq_f16, {rt}, {kb}, {st}, true, _xs, CQ_MV_MIN_BLOCKS)",
                  f"CQ_MV_TC_KERNEL_X(f32, true, 1, f32, float, {rt}, {kb}, {st}, true, _xs, CQ_MV_MIN_BLOCKS)",
                  f"CQ_MV_TC_KERNEL(f16, false, 1, f16, cq_f16, {rt}, {kb}, {st})"]
    mk.EXTRA_INSTANTIATIONS = "\n".join(extra) + "\n"
    mk.MODULE_KEY += ":probe12geo"
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)

    def geo(g):
        def apply():
            mm.MV_GEOMETRY = g
        return apply
    SET = {"auto": geo(None), **{f"r{g[0]}k{g[1]}s{g[2]}": geo(g) for g in GEOS}, "auto2": geo(None)}
    for shape in [(14336, 4096), (4096, 4096), (4096, 14336), (128256, 4096)]:
        for m, xd in [(1, "float16"), (1, "float32"), (2, "float16"), (8, "float16")]:
            def f(shape=shape, m=m, xd=xd):
                r, _ = bench.measure(shape, m, xd, "matvec")
                return f"{r['time_us']:7.2f} {100*r['frac_copy']:4.1f}%"
            ab(f"{shape[0]}x{shape[1]} M={m} {xd}", f, SET)
    for g in GEOS:
        mm.MV_GEOMETRY = g
        q, _ = bench.weights((14336, 4096))
        for m, xd in [(1, "float16"), (1, "float32"), (2, "float16"), (8, "float16")]:
            x = cp.random.standard_normal((m, 4096), dtype=cp.float32).astype(xd)
            y = mm.matmul(x, q[0])
            ref = x.astype(cp.float64) @ q[0].dequant(dtype="float32").astype(cp.float64).T
            err = float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref))
            print(f"accuracy {g} M={m} {xd}: {err:.2e}", flush=True)
    mm.MV_GEOMETRY = None

if part == "launchcost":
    # run 5: host time of one launch (CuPy's, or cuLaunchKernelEx through
    # ctypes with PDL), dequant of 16 Q4_K blocks and matrix-vector M = 1
    from cupyquant import FORMATS, QuantizedTensor
    from cupyquant.gpu.dequant import launch_dequant
    from cupyquant.testing import sane_blocks
    fmt = FORMATS["Q4_K"]
    tiny = cp.zeros(fmt.type_size * 16, cp.uint8)
    tout = cp.empty(fmt.block_size * 16, cp.float16)
    q = FORMATS["Q4_0"]
    w = QuantizedTensor(q, (256, 4096), cp.asarray(sane_blocks(q, 256 * 128, np.random.default_rng(0))))
    x = cp.ones((1, 4096), cp.float16)
    y = cp.empty((1, 256), cp.float16)
    for flag in (False, True, False, True):
        gpu_launch.PDL = flag
        for what, fn in (("launch_dequant", lambda: launch_dequant(fmt, tiny, tout)),
                         ("matmul M=1", lambda: mm.matmul(x, w, out=y))):
            fn()
            cp.cuda.Device().synchronize()
            t0 = time.perf_counter()
            for _ in range(2000):
                fn()
            t = (time.perf_counter() - t0) / 2000
            cp.cuda.Device().synchronize()
            print(f"{what:15s} PDL={flag}: {t*1e6:.1f} us a call on the host", flush=True)
    # where the host time of matmul goes (run 6)
    import cProfile
    import pstats
    gpu_launch.PDL = True
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(2000):
        mm.matmul(x, w, out=y)
    prof.disable()
    cp.cuda.Device().synchronize()
    pstats.Stats(prof).sort_stats("tottime").print_stats(18)
