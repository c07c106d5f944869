"""Device probe, session 22 (H200).

    PYTHONPATH=. python notes/probe_s22.py occ      # cluster plans: every cluster resident with the sums' bytes?
    PYTHONPATH=. python notes/probe_s22.py gsplit   # every K split count, clusters off (global sums only)
    PYTHONPATH=. python notes/probe_s22.py atomic   # wgmma / int8 split-K sums: one acq_rel atomic against fences
    PYTHONPATH=. python notes/probe_s22.py pipe     # the loader's pipeline without the loader, small slots
    PYTHONPATH=. python notes/probe_s22.py loadparts  # the load benchmark's file with parts of the loader cut out
    PYTHONPATH=. python notes/probe_s22.py loadab   # the loader's launches by address against session 21's

Part "occ": for split grids of one wave, the plan's cluster decision
(qmatmul._mv_plan_clusters): thread blocks an SM without and with the
received sums' shared memory, the driver's cuOccupancyMaxActiveClusters, the
grid's clusters, and the launch (cluster or global) the product takes.

Part "gsplit": as session 21's part "splits" (every count 1-6 forced), with
MV_CLUSTER_MAX_SPLITS = 0: the sums of every split grid go through the global
workspace, as on GPUs without clusters (sm_80). Beside each time the model's
makespan (stage times) for the fit of MV_SPLIT_COST_GLOBAL.

Part "atomic": the wgmma module's split-K sum (and the int8 matrix-vector
kernel's, path "matvec_int8") with thread 0's (lane 0's) counter increment as
one release-acquire atomic (shipped candidate) against __threadfence in every
thread before and after it (the old source text patched back in here, a
second module): same bits, then timing two rounds in opposite orders.

Part "loadparts": the load benchmark's 2.4 GB file (Q4_0 / Q4_K / Q6_K),
loaded to float16 (median of 5 warm loads) as shipped, without the
dequantization launches (launch_dequant a no-op: host fill and the
pipeline), without the host copies (_Reader.read_into a no-op: kernels
reading the pinned buffers and the pipeline), and without either (the
loader's own Python and synchronisation); and the main thread's time in
each step of the shipped load (dispatch, of it the launches; submit, of it
the wait for a slot to be free).

Part "loadab": the same file, the loader as submitted (dequantization
launches by address through a launcher worked out once per format, dtype
and device) against session 21's dispatch and launch_dequant (array slices,
the kernel, table and prefetch distance looked up at every launch; their
text copied below from b22a40a), three rounds in alternating order, median
of 7 warm loads each; then the main thread's steps as in "loadparts".
(Part "loadparts" ran at d6b355e, with session 21's launches: its "no
kernels" setting patched launch_dequant, which the loader no longer calls
for the pieces.)

Part "pipe": session 20's loader-free pipeline (file -> pinned slots by 12
threads -> the GPU reading them, "h2d" copy or "zc" kernel) with smaller and
more slots: whether pinned buffers that stay in the host's last-level cache
(300 MiB on that host) make the fill and the device's reads stop competing
for host memory bandwidth.
"""
import sys

import cupy as cp

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab  # noqa: E402

part = sys.argv[1]


def spy_launches(mm):
    launched = {}
    real = mm.launch

    def spy(kern, grid, *args, **kw):
        launched["k"] = (kern.name.replace("cq_q4_0_", ""), tuple(grid), "cl" if kw.get("cluster") else "gl")
        return real(kern, grid, *args, **kw)
    mm.launch = spy
    return launched


if part == "occ":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from cupyquant.gpu.launch import max_active_clusters
    from test_bench_matmul import random_q4_0_device
    launched = spy_launches(mm)
    real_pc = mm._mv_plan_clusters

    def plan_spy(cp_, plan, mc, tiles, sms, dev):
        out = real_pc(cp_, plan, mc, tiles, sms, dev)
        kern, geo, smem, grid_x, splits, sps, x_shared, full = plan
        extra = mk.mv_cluster_sum_bytes(geo[0], mc, splits)
        k2 = mm._kernel_with_smem(cp_, kern.name, smem + extra)
        print(f"  plan {kern.name.replace('cq_q4_0_mv_tc_', '')} grid {grid_x}x{splits} full={full} smem {smem}"
              f"+{extra}: blocks/SM {mm._occupancy(cp_, kern, smem)} -> {mm._occupancy(cp_, k2, smem + extra)}, "
              f"max clusters {max_active_clusters(k2, (mk.THREADS,), smem + extra, (1, splits, 1)) if splits > 1 else '-'}"
              f" -> cluster {out[-1]}", flush=True)
        return out
    mm._mv_plan_clusters = plan_spy
    for (n, k), m, xd in [((1024, 4096), 1, "float16"), ((1024, 4096), 8, "float16"), ((2048, 8192), 8, "float16"),
                          ((4096, 11008), 8, "float16"), ((5120, 13824), 8, "float16"),
                          ((4096, 14336), 8, "float16"), ((2048, 8192), 4, "float32"),
                          ((1024, 14336), 8, "float16"), ((6144, 13824), 8, "float16"),
                          ((7168, 8192), 8, "float16")]:
        w = random_q4_0_device(n, k, seed=1)
        x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(xd)
        print(f"{n}x{k} M={m} {xd}", flush=True)
        mm.matmul(x, w)
        print(f"  launched {launched['k']}", flush=True)
    mm._mv_plan_clusters = real_pc


def makespan(tiles, stage_counts, slots):
    import cupyquant.qmatmul as mm
    return mm._makespan(tiles, stage_counts, slots)


if part == "gsplit":
    import cupyquant.qmatmul as mm
    from gpu_timing import gpu_seconds_per_call
    from test_bench_matmul import get_bench, random_q4_0_device
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    launched = spy_launches(mm)
    real_splits, real_fit, real_model = mm._mv_splits, mm._mv_fit, mm._mv_splits_makespan
    seen = {}

    def fit_spy(cp_, name, smem, sms, nb, tiles, kb, bps):
        out = real_fit(cp_, name, smem, sms, nb, tiles, kb, bps)
        seen["resident"], seen["kb"] = out[1], kb
        return out
    mm._mv_fit = fit_spy
    forced = {}

    def forced_count(nb, tiles, kb):
        n_st = -(-nb // kb)
        sps = -(-n_st // min(forced["s"], n_st))
        return -(-n_st // sps), sps

    def forced_splits(nb, tiles, capacity, kb):
        return real_splits(nb, tiles, capacity, kb) if "s" not in forced else forced_count(nb, tiles, kb)

    def forced_model(nb, tiles, resident, kb, clusters=False):
        return real_model(nb, tiles, resident, kb, clusters) if "s" not in forced else forced_count(nb, tiles, kb)
    mm._mv_splits, mm._mv_splits_makespan = forced_splits, forced_model
    mm.MV_CLUSTER_MAX_SPLITS = 0
    shapes = [(1024, 4096), (2048, 8192), (4096, 8192), (4096, 11008), (4096, 14336), (5120, 13824),
              (1024, 14336)]
    for n, k in shapes:
        w = [random_q4_0_device(n, k, seed=i) for i in range(max(2, -(-250 << 20) // (n * k // 32 * 18)))]
        for m in (4, 8):
            x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(cp.float16)
            out = cp.empty((m, n), dtype=cp.float16)
            cells = []
            for s_ in (None, 1, 2, 3, 4, 5, 6):
                if s_ is None:
                    forced.clear()
                else:
                    forced["s"] = s_
                mm._mv_plans.clear()
                t, _, _ = gpu_seconds_per_call([lambda w_=w_: mm.matmul(x, w_, out=out) for w_ in w])
                name, (gx, sp), how = launched["k"]
                n_st = -(-(k // 32) // seen["kb"])
                sps = -(-n_st // sp)
                counts = [min(sps * seen["kb"], k // 32 - i * sps * seen["kb"]) / seen["kb"] for i in range(sp)]
                tiles = -(-n // 16)
                ms = makespan(tiles, counts, seen["resident"]) if gx == tiles else None  # None: a queue
                cells.append(f"{'plan' if s_ is None else s_}:{t*1e6:.2f}us {sp}{how} ms={ms}")
                if s_ is not None and s_ >= n_st:
                    break
            print(f"{n}x{k} M={m} ({name}, kb {seen['kb']}, resident {seen['resident']}): " + " | ".join(cells),
                  flush=True)
    mm._mv_splits, mm._mv_fit, mm._mv_splits_makespan = real_splits, real_fit, real_model
    mm.MV_CLUSTER_MAX_SPLITS = 8

if part == "atomic":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from cupyquant.gpu.modules import compile_options, get_function
    from test_bench_matmul import get_bench, random_q4_0_device
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    launched = spy_launches(mm)
    wg_new = """    __shared__ int is_last;
    __syncthreads();
    const int tile = blockIdx.y * gridDim.x + blockIdx.x;
    if (tid == 0) is_last = cq_atom_add_acq_rel_gpu(counters + tile, 1) == n_split - 1;
    __syncthreads();
    if (is_last) {
"""
    wg_old = """    __shared__ int is_last;
    __threadfence();
    __syncthreads();
    const int tile = blockIdx.y * gridDim.x + blockIdx.x;
    if (tid == 0) is_last = atomicAdd(counters + tile, 1) == n_split - 1;
    __syncthreads();
    if (is_last) {
        __threadfence();
"""
    i8_new = """    __syncwarp();
    int last = 0;
    if (lane == 0) last = cq_atom_add_acq_rel_gpu(counters + tile, 1) == n_split - 1;
    last = CQ_SHFL(last, 0);
    __syncwarp();
    if (!last) return;
"""
    i8_old = """    __threadfence();
    __syncwarp();
    int last = 0;
    if (lane == 0) last = atomicAdd(counters + tile, 1) == n_split - 1;
    last = CQ_SHFL(last, 0);
    if (!last) return;
    __threadfence();
"""
    src90, src = mk.matmul_sm90_source(), mk.matmul_source()
    assert src90.count(wg_new) == 1 and src.count(i8_new) == 1, "the split-K sums moved: update the probe"
    old90, old = src90.replace(wg_new, wg_old), src.replace(i8_new, i8_old)
    real90, real = mm._sm90_function, mm._function

    def setting(acq_rel):
        def apply():
            mm._sm90_function = real90 if acq_rel else (lambda name: get_function(
                "matmul:probe:sm90membar", old90, name, compile_options(mk.SM90_OPTIONS)))
            mm._function = real if acq_rel else (lambda name: get_function("matmul:probe:membar", old, name))
            mm._mv_plans.clear()
        return apply
    settings = {"acq_rel": setting(True), "membar": setting(False)}
    cases = [((4096, 14336), 512, "float16", "wgmma"), ((4096, 14336), 128, "float16", "wgmma"),
             ((4096, 4096), 128, "float16", "wgmma"), ((1024, 14336), 256, "float16", "wgmma"),
             ((2048, 8192), 512, "float16", "wgmma"), ((4096, 14336), 64, "float32", "wgmma"),
             ((4096, 4096), 512, "float16", "wgmma"),
             ((4096, 14336), 4, "float32", "matvec_int8"), ((4096, 4096), 1, "float16", "matvec_int8"),
             ((1000, 14336), 8, "float16", "matvec_int8")]
    for shape, m, xd, path in cases:
        w = random_q4_0_device(*shape, seed=2)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
        outs = []
        for apply in settings.values():
            apply()
            outs.append(mm.matmul(x, w, path=path).view(cp.uint16 if xd == "float16" else cp.uint32))
        print(f"{shape} M={m} {xd} {path}: same bits {bool((outs[0] == outs[1]).all())} {launched['k']}",
              flush=True)

    def timed(shape, m, xd, path):
        def fn():
            r, _ = bench.measure(shape, m, xd, path)
            return f"{r['time_us']:.2f} {launched['k'][1]}"
        return fn
    for rnd in range(2):
        order = settings if rnd == 0 else dict(list(settings.items())[::-1])
        for shape, m, xd, path in cases:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd} {path}", timed(shape, m, xd, path), order)
    setting(True)()

if part == "pipe":
    import mmap
    import os
    import time
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    path = "/tmp/probe_fill.bin"
    size = 2 << 30
    if not os.path.exists(path) or os.path.getsize(path) != size:
        block = np.random.default_rng(0).integers(0, 255, 64 << 20, dtype=np.uint8)
        with open(path, "wb") as f:
            for _ in range(size // block.nbytes):
                f.write(block)
    for _ in range(2):
        with open(path, "rb") as f:
            while f.read(64 << 20):
                pass
    dev = cp.empty(size, dtype=cp.uint8)
    pool = ThreadPoolExecutor(12)
    fd = os.open(path, os.O_RDONLY)
    mm_ = mmap.mmap(fd, size, prot=mmap.PROT_READ)
    view = np.frombuffer(mm_, dtype=np.uint8)
    read_kernel = cp.RawKernel(r"""
    extern "C" __global__ void rd(const uint4* src, uint4* dst, long long n) {
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
             i += (long long)gridDim.x * blockDim.x) dst[i] = src[i];
    }""", "rd")
    big = cp.cuda.alloc_pinned_memory(size)
    big_np = np.frombuffer(big, dtype=np.uint8, count=size)
    big_np[:] = 1

    def pinned_copy():
        s = cp.cuda.Stream(non_blocking=True)
        t0 = time.perf_counter()
        cp.cuda.runtime.memcpyAsync(dev.data.ptr, big_np.ctypes.data, size, cp.cuda.runtime.memcpyHostToDevice, s.ptr)
        s.synchronize()
        return time.perf_counter() - t0

    def fill_only(piece):
        t0 = time.perf_counter()
        futs = [pool.submit(np.copyto, big_np[o:o + piece], view[o:o + piece]) for o in range(0, size, piece)]
        for f in futs:
            f.result()
        return time.perf_counter() - t0

    def run(mode, slot, n_slots, piece, look):
        mems = [cp.cuda.alloc_pinned_memory(slot) for _ in range(n_slots)]
        bufs = [np.frombuffer(m, dtype=np.uint8, count=slot) for m in mems]
        streams = [cp.cuda.Stream(non_blocking=True) for _ in range(n_slots)]
        events = [None] * n_slots
        srcs = [cp.ndarray((slot // 16, 4), dtype=cp.uint32, memptr=cp.cuda.MemoryPointer(
            cp.cuda.UnownedMemory(m.ptr, slot, m, device_id=0), 0)) for m in mems]
        n = size // slot
        futs = {}

        def start(c):
            s = c % n_slots
            if events[s] is not None:
                events[s].synchronize()
            futs[c] = [pool.submit(np.copyto, bufs[s][o:o + piece], view[c * slot + o:c * slot + o + piece])
                       for o in range(0, slot, piece)]
        t0 = time.perf_counter()
        for c in range(min(look, n)):
            start(c)
        for c in range(n):
            s = c % n_slots
            for f in futs.pop(c):
                f.result()
            if mode == "h2d":
                cp.cuda.runtime.memcpyAsync(dev.data.ptr + c * slot, bufs[s].ctypes.data, slot,
                                            cp.cuda.runtime.memcpyHostToDevice, streams[s].ptr)
            else:
                with streams[s]:
                    read_kernel((264,), (512,), (srcs[s], dev[c * slot:], cp.int64(slot // 16)))
            events[s] = streams[s].record()
            if c + look < n:
                start(c + look)
        for st in streams:
            st.synchronize()
        return time.perf_counter() - t0

    pinned_copy()
    run("h2d", 16 << 20, 4, 4 << 20, 2)
    run("zc", 16 << 20, 4, 4 << 20, 2)
    configs = [(64 << 20, 4, 4 << 20, 2), (32 << 20, 8, 2 << 20, 6), (16 << 20, 8, 2 << 20, 6),
               (16 << 20, 16, 1 << 20, 12), (8 << 20, 16, 1 << 20, 12), (8 << 20, 32, 1 << 20, 24),
               (4 << 20, 32, 1 << 20, 24), (2 << 20, 64, 1 << 20, 48)]
    for rnd in range(2):
        print(f"r{rnd} pinned H2D 2 GiB: {pinned_copy()*1e3:.1f} ms; fill alone (4 MiB pieces) "
              f"{fill_only(4 << 20)*1e3:.1f} ms, (1 MiB) {fill_only(1 << 20)*1e3:.1f} ms", flush=True)
        for mode in ("h2d", "zc"):
            for slot, n_slots, piece, look in configs:
                t = run(mode, slot, n_slots, piece, look)
                print(f"r{rnd} pipe {mode} slot {slot >> 20} MiB x {n_slots} piece {piece >> 20} MiB look {look}: "
                      f"{t*1e3:.1f} ms {size/t/1e9:.1f} GB/s", flush=True)
    del view
    mm_.close()
    os.close(fd)

if part == "loadparts":
    import os
    import statistics
    import tempfile
    import time

    from cupyquant.gpu import loader as gl
    from test_bench_load import LAYERS, model_specs, read_whole, timed_load, write_model
    path = os.path.join(tempfile.mkdtemp(), "model.gguf")
    t0 = time.perf_counter()
    write_model(path, model_specs(LAYERS), {})
    print(f"wrote {os.path.getsize(path) / 1e9:.2f} GB in {time.perf_counter() - t0:.1f} s; "
          f"page cache read {read_whole(path):.1f} GB/s", flush=True)
    read_whole(path)

    def load_s():  # seconds of one load (the load benchmark's timer; the arrays dropped at once)
        return timed_load(cp, path)[1]
    real_launch, real_read = gl.launch_dequant, gl._Reader.read_into
    settings = {"shipped": (real_launch, real_read),
                "no kernels": (lambda *a, **k: None, real_read),
                "no host copies": (real_launch, lambda self, fi, off, dst: None),
                "neither": (lambda *a, **k: None, lambda self, fi, off, dst: None)}
    load_s()
    for rnd in range(2):
        for name, (launch_fn, read_fn) in (settings.items() if rnd == 0 else list(settings.items())[::-1]):
            gl.launch_dequant, gl._Reader.read_into = launch_fn, read_fn
            load_s()
            ts = [load_s() for _ in range(5)]
            print(f"r{rnd} {name}: median {statistics.median(ts) * 1e3:.1f} ms (min {min(ts) * 1e3:.1f}, "
                  f"max {max(ts) * 1e3:.1f})", flush=True)
    gl.launch_dequant, gl._Reader.read_into = real_launch, real_read

    # main-thread time by step, shipped loader
    acc = {}

    def timed(name, fn):
        def wrapper(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                acc[name] = acc.get(name, 0.0) + time.perf_counter() - t
                acc[name + " calls"] = acc.get(name + " calls", 0) + 1
        return wrapper
    real = {n: getattr(gl._Load, n) for n in ("dispatch", "submit", "allocate_outputs", "prepare_devices",
                                              "prepare_host", "synchronize")}
    for n, fn in real.items():
        setattr(gl._Load, n, timed(n, fn))
    gl.launch_dequant = timed("launch_dequant", real_launch)
    real_sync = cp.cuda.Event.synchronize
    for rnd in range(3):
        acc.clear()
        t = load_s()
        print(f"timed load {t * 1e3:.1f} ms: " + ", ".join(
            f"{k} {v * 1e3:.1f} ms" if isinstance(v, float) else f"{k} {v}" for k, v in sorted(acc.items())),
            flush=True)
    for n, fn in real.items():
        setattr(gl._Load, n, fn)
    gl.launch_dequant = real_launch
    os.unlink(path)


# ---- session 21's loader dispatch and launch_dequant (b22a40a), for part "loadab"
def old_launch_dequant(fmt, raw, out_flat, stream=None, pdl=True, ahead=None):
    """Run the format's kernel: ``raw`` (uint8, whole blocks) -> ``out_flat``.
    ``pdl``: with programmatic dependent launch where usable (gpu/launch.py;
    back to back on the H200 0.5-0.8 us a launch faster, notes/h200_s12).
    ``ahead``: the L2 prefetch distance in thread blocks (None: ``l2_ahead``;
    0: none); results are the same whatever it is."""
    cp = cupy_module()
    n_elems = raw.size // fmt.type_size * fmt.block_size
    if n_elems == 0:
        return out_flat
    kernel = get_function(f"dequant:{fmt.name}", fmt.source, fmt.kernel_name(out_flat.dtype))
    tables = fmt.tables()
    table_ptr = device_table(fmt.name, fmt.tables).data.ptr if tables is not None else 0
    n_tiles = -(-n_elems // tile_elems(fmt))
    info = device_info(cp.cuda.Device().id)
    grid = int(min(n_tiles, info.get("sm_count", 80) * BLOCKS_PER_SM))
    if ahead is None:
        ahead = l2_ahead(fmt, out_flat.dtype, info.get("l2_bytes", 0))
    launch(kernel, (grid,), (THREADS,),
           (raw, out_flat, np.int64(n_elems), np.uint64(table_ptr), np.int32(ahead)),
           stream=stream, pdl=pdl)
    return out_flat


def old_dispatch(self, chunk, slot, futs) -> None:
    cp = self.cp
    runtime = cp.cuda.runtime
    self.current = chunk.pieces[0][0].name
    for f in futs:
        f.result()                            # raises what the copy raised
    self.futures = [f for f in self.futures if not f.done()]
    dev = chunk.device
    with cp.cuda.Device(dev):
        stream = self.streams[dev][slot]
        zero_copy = self.zero_copy[dev]
        if zero_copy:
            # The kernels read the pinned buffer itself (a device-side view of it);
            # direct pieces are copied host -> device straight into place.
            src_all = self.host_views[dev][slot]
            direct_kind = runtime.memcpyHostToDevice
        else:
            src_all = self.staging[dev][slot]
            direct_kind = runtime.memcpyDeviceToDevice
            runtime.memcpyAsync(src_all.data.ptr, self.pinned[slot].ctypes.data,
                                chunk.end - chunk.start, runtime.memcpyHostToDevice,
                                stream.ptr)
            self.mark_slot_free(slot, stream)  # the pinned buffer's only reader is this copy
        base = src_all.data.ptr
        for job, tpos, n, cpos in chunk.pieces:
            self.current = job.name
            if job.direct:
                runtime.memcpyAsync(job.dst.data.ptr + tpos, base + cpos, n,
                                    direct_kind, stream.ptr)
            else:
                fmt = job.fmt
                e0 = tpos // fmt.type_size * fmt.block_size
                e1 = e0 + n // fmt.type_size * fmt.block_size
                old_launch_dequant(fmt, src_all[cpos:cpos + n], job.dst[e0:e1], stream=stream,
                               pdl=PDL)
        if zero_copy:
            self.mark_slot_free(slot, stream)  # after every kernel / copy reading the buffer
    if self.bar is not None:
        self.bar.update(chunk.payload)


if part == "loadab":
    import os
    import statistics
    import tempfile
    import time

    import numpy as np  # noqa: F401  (old_launch_dequant's globals)

    from cupyquant import load_gguf
    from cupyquant.gpu import dequant as gd
    from cupyquant.gpu import loader as gl
    from test_bench_load import LAYERS, model_specs, read_whole, timed_load, write_model
    for name in ("get_function", "device_table", "tile_elems", "device_info", "BLOCKS_PER_SM", "l2_ahead",
                 "THREADS", "launch", "cupy_module"):
        globals()[name] = getattr(gd, name)
    PDL = gl.PDL
    path = os.path.join(tempfile.mkdtemp(), "model.gguf")
    write_model(path, model_specs(LAYERS), {})
    read_whole(path)
    read_whole(path)

    def load_s():  # seconds of one load (the load benchmark's timer; the arrays dropped at once)
        return timed_load(cp, path)[1]
    new_dispatch = gl._Load.dispatch
    settings = {"by address": new_dispatch, "s21 slices": old_dispatch}
    ref = None
    for name, fn in settings.items():  # the same bits either way
        gl._Load.dispatch = fn
        res = load_gguf(path, device=0, progress=False)
        bits = {k: v.view(cp.uint16 if v.dtype == cp.float16 else cp.uint32) for k, v in res.items()}
        if ref is None:
            ref = bits
        else:
            same = all(bool((ref[k] == bits[k]).all()) for k in ref)
            print(f"same bits in all {len(ref)} tensors: {same}", flush=True)
        del res, bits
    ref = None
    for rnd in range(3):
        for name, fn in (settings.items() if rnd % 2 == 0 else list(settings.items())[::-1]):
            gl._Load.dispatch = fn
            load_s()
            ts = [load_s() for _ in range(7)]
            print(f"r{rnd} {name}: median {statistics.median(ts) * 1e3:.1f} ms (min {min(ts) * 1e3:.1f}, "
                  f"max {max(ts) * 1e3:.1f})", flush=True)
    gl._Load.dispatch = new_dispatch
    os.unlink(path)
