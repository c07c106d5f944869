"""Device probe, session 20 (H200).

    PYTHONPATH=. python notes/probe_s20.py cw   # "_xsq": 2 / 4 / 8 copying warps, and "_xs" (run 1)
    PYTHONPATH=. python notes/probe_s20.py fill [GiB]  # page cache -> pinned fill alone / with H2D (run 1)
    PYTHONPATH=. python notes/probe_s20.py cw2  # copying warps of the other matrix-vector kernels (run 2)
    PYTHONPATH=. python notes/probe_s20.py pipe # the loader's pipeline without the loader (run 2)
    PYTHONPATH=. python notes/probe_s20.py cw3  # x_shared kernels: four copy warps (shipped) against eight (run 3)
    PYTHONPATH=. python notes/probe_s20.py rt   # queue kernels with 32-row tiles (runs 4-5)
    PYTHONPATH=. python notes/probe_s20.py hi   # x_shared kernels: the last four warps copy instead of the first (run 6)
    PYTHONPATH=. python notes/probe_s20.py bps  # K split where the tiles are not whole waves (run 7)

Part "cw" ran at commit 1a2a2d9 (its template argument XQ was then the number
of copying warps; later commits made it a flag and added CW, so the part's
instantiations no longer match the macro). Part "cw2" ran at f4f9131 (CW = 4 in "_xsq" only); "cw3" and later with
the submitted macros.

Part "cw": one module holding the shipped "_xsq" kernel (XQ = 8: all 256
threads copy the weight stages) and two appended variants, "_xsq2" and
"_xsq4" (XQ = 2 / 4: only the first 64 / 128 threads copy, the others skip
the copies' address arithmetic), against "_xs" (MV_XS_QUEUE_KERNEL off). The
plan's queue kernel name gets the variant's suffix. First the outputs (must
be bit-identical: the copies do not change the k order), then the
benchmark's timing (CUDA graphs, rotating weights), two rounds in opposite
orders, then one round on shapes that are not benchmarked.

Part "fill": what the loader's host side can do, without the loader. A file
of [GiB] (default 2) is written and read twice (page cache). Then, in
seconds and GB/s: (a) 12 threads copy it out of a read-only memory map into
a ring of 4 x 64 MiB pinned buffers in pieces of 4 / 16 / 64 MiB (NumPy
copyto, as the loader's mmap reader); (b) host -> device copies of the same
bytes from a separate pinned buffer, 64 MiB a copy on one stream; (c) both at
once, each timed to its own end. Run under different GLIBC_TUNABLES
(glibc.cpu.x86_non_temporal_threshold) to see whether streaming stores,
which skip reading the destination lines into the cache, leave more of the
host memory bandwidth to the device's reads.
"""
import sys

import cupy as cp

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")
from probe_util import ab, launch_spy, module_setting  # noqa: E402

part = sys.argv[1]

if part == "cw":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    mk.EXTRA_INSTANTIATIONS = "\n".join(
        f"CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 64, 2, true, {q}, _xsq{q}, CQ_MV_MIN_BLOCKS)"
        for q in (2, 4))
    real_name = mk.mv_tc_name
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)

    def setting(queue_kernel, suffix):
        base = module_setting(mm, queue_kernel=queue_kernel)

        def apply():
            base()
            mk.mv_tc_name = lambda *a, **kw: real_name(*a, **kw) + (suffix if kw.get("queue") else "")
        return apply
    settings = {"w8": setting(("float16",), ""), "w2": setting(("float16",), "2"),
                "w4": setting(("float16",), "4"), "xs": setting((), "")}
    main_shapes = [(14336, 4096), (128256, 4096)]
    other_shapes = [(28672, 4096), (32000, 2048), (14336, 14336), (53248, 8192)]
    for shape in main_shapes + other_shapes:
        q, _ = bench.weights(shape)
        for m in (1, 4, 8):
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
            outs = []
            for apply in settings.values():
                apply()
                y = mm.matmul(x, q[0], out=cp.full((m, shape[0]), cp.nan, dtype=cp.float16))
                outs.append((y.view(cp.uint16), last["k"][0]))
            same = all(bool((o == outs[0][0]).all()) for o, _ in outs[:3])
            print(f"{shape} M={m}: w8/w2/w4 bit-identical {same}, kernels {[k for _, k in outs]}", flush=True)

    def timed(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float16", None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%) {last['k'][0].split('_s2')[-1] or '-'}"
        return fn
    names = list(settings)
    for rnd in range(2):
        order = {k: settings[k] for k in (names if rnd == 0 else names[::-1])}
        for shape in main_shapes:
            for m in (1, 4, 8):
                ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} float16", timed(shape, m), order)
    for shape in other_shapes:
        for m in (1, 8):
            ab(f"other {shape[0]}x{shape[1]} M={m} float16", timed(shape, m), settings)

if part == "fill":
    import mmap
    import os
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np
    gib = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    path = "/tmp/probe_fill.bin"
    size = int(gib * 2**30)
    if not os.path.exists(path) or os.path.getsize(path) != size:
        block = np.random.default_rng(0).integers(0, 255, 64 << 20, dtype=np.uint8)
        with open(path, "wb") as f:
            for _ in range(size // block.nbytes):
                f.write(block)
    for _ in range(2):
        with open(path, "rb") as f:
            while f.read(64 << 20):
                pass
    print("tunables", os.environ.get("GLIBC_TUNABLES", "(default)"), flush=True)
    slot = 64 << 20
    ring_mem = cp.cuda.alloc_pinned_memory(4 * slot)
    ring = np.frombuffer(ring_mem, dtype=np.uint8, count=4 * slot)
    src_mem = cp.cuda.alloc_pinned_memory(slot)
    src = np.frombuffer(src_mem, dtype=np.uint8, count=slot)
    src[:] = 1
    dev = cp.empty(4 * slot, dtype=cp.uint8)
    stream = cp.cuda.Stream(non_blocking=True)
    pool = ThreadPoolExecutor(12)
    fd = os.open(path, os.O_RDONLY)
    mm = mmap.mmap(fd, size, prot=mmap.PROT_READ)
    view = np.frombuffer(mm, dtype=np.uint8)

    def fill(piece):
        def one(off):
            dst = ring[off % (4 * slot):][:piece]
            np.copyto(dst, view[off:off + piece])
        t0 = time.perf_counter()
        list(pool.map(one, range(0, size - size % piece, piece)))
        return time.perf_counter() - t0

    def h2d():
        t0 = time.perf_counter()
        n = size // slot
        for i in range(n):
            dev[(i % 4) * slot:(i % 4 + 1) * slot].set(src, stream=stream)
        stream.synchronize()
        return time.perf_counter() - t0

    h2d()
    fill(4 << 20)
    for rnd in range(2):
        t = h2d()
        print(f"r{rnd} H2D alone {t*1e3:.1f} ms {size/t/1e9:.1f} GB/s", flush=True)
        for piece in (4 << 20, 16 << 20, 64 << 20):
            t = fill(piece)
            print(f"r{rnd} fill alone piece {piece >> 20} MiB: {t*1e3:.1f} ms {size/t/1e9:.1f} GB/s", flush=True)
            res = {}
            th = threading.Thread(target=lambda: res.__setitem__("h2d", h2d()))
            th.start()
            res["fill"] = fill(piece)
            th.join()
            print(f"r{rnd} both piece {piece >> 20} MiB: fill {res['fill']*1e3:.1f} ms "
                  f"{size/res['fill']/1e9:.1f} GB/s, H2D {res['h2d']*1e3:.1f} ms {size/res['h2d']/1e9:.1f} GB/s",
                  flush=True)
    del view
    mm.close()
    os.close(fd)

# Part "cw2" (run 2): copying warps CW of the other matrix-vector kernels. The
# shipped "_xsq" has CW = 4 (run 1); appended variants, all float16 output:
#   "_xsq_c{3,5,6,8}": "_xsq" (float16 x, queue) with CW = 3 / 5 / 6 / 8;
#   "_xs_c{4,6}": float16 x_shared without the next-tile copies (one tile a
#       thread block: 4096^2, 4096 x 14336 at M = 1);
#   "_c{4,6}": the plain float16 kernel of geometry (16, 64, 2) (M = 8);
#   float32 x, float32 output, x_shared "_xs_c4" of both geometries.
CW2_EXTRA = "\n".join(
    [f"CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 64, 2, true, true, {c}, _xsq_c{c}, CQ_MV_MIN_BLOCKS)"
     for c in (3, 5, 6, 8)]
    + [f"CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 64, 2, true, false, {c}, _xs_c{c}, CQ_MV_MIN_BLOCKS)"
       for c in (4, 6)]
    + [f"CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 64, 2, false, false, {c}, _c{c}, CQ_MV_MIN_BLOCKS)"
       for c in (4, 6)]
    + [f"CQ_MV_TC_KERNEL_XQ(f32, true, 1, f32, float, 16, {kb}, {st}, true, false, 4, _xs_c4, CQ_MV_MIN_BLOCKS)"
       for kb, st in ((64, 2), (32, 3))])


def cw2_namer(real_name, q="", xs="", plain="", f32xs=""):
    """mv_tc_name with a variant suffix for the kernels the probe appends."""
    def name(x_dtype, y_dtype, n_tiles, geo, x_shared=False, queue=False):
        base = real_name(x_dtype, y_dtype, n_tiles, geo, x_shared=x_shared, queue=queue)
        xd, yd = str(getattr(x_dtype, "name", x_dtype)), str(getattr(y_dtype, "name", y_dtype))
        if n_tiles != 1:
            return base
        if xd == yd == "float16" and tuple(geo) == (16, 64, 2):
            return base + (q if x_shared and queue else xs if x_shared else plain)
        if xd == yd == "float32" and x_shared and not queue:
            return base + f32xs
        return base
    return name


if part == "cw2":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    mk.EXTRA_INSTANTIATIONS = CW2_EXTRA
    real_name = mk.mv_tc_name
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)

    def setting(**suffixes):
        base = module_setting(mm)

        def apply():
            base()
            mk.mv_tc_name = cw2_namer(real_name, **suffixes)
        return apply

    def timed(shape, m, xd="float16"):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%) {last['k'][0].split('_s', 1)[-1]}"
        return fn

    def check(shape, m, xd, settings):
        q, _ = bench.weights(shape)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
        outs = []
        for apply in settings.values():
            apply()
            y = mm.matmul(x, q[0], out=cp.full((m, shape[0]), cp.nan, dtype=xd))
            outs.append((y.view(cp.uint16 if xd == "float16" else cp.uint32), last["k"][0]))
        same = all(bool((o == outs[0][0]).all()) for o, _ in outs)
        print(f"{shape} M={m} {xd}: bit-identical {same}, kernels {[k for _, k in outs]}", flush=True)

    queue = {"c4": setting(), "c3": setting(q="_c3"), "c5": setting(q="_c5"), "c6": setting(q="_c6"),
             "c8": setting(q="_c8")}
    one_tile = {"c8": setting(), "c4": setting(xs="_c4", plain="_c4"), "c6": setting(xs="_c6", plain="_c6")}
    f32 = {"c8": setting(), "c4": setting(f32xs="_c4")}
    for shape in [(14336, 4096), (128256, 4096)]:
        for m in (1, 8):
            check(shape, m, "float16", queue)
    for shape in [(4096, 4096), (4096, 14336), (14336, 14336)]:
        for m in (1, 8):
            check(shape, m, "float16", one_tile)
    for shape in [(4096, 4096), (4096, 14336), (128256, 4096)]:
        check(shape, 1, "float32", f32)
    for rnd in range(2):
        for shape in [(14336, 4096), (128256, 4096)]:
            for m in (1, 4, 8):
                order = dict(list(queue.items())[::(1 if rnd == 0 else -1)])
                ab(f"r{rnd} queue {shape[0]}x{shape[1]} M={m} float16", timed(shape, m), order)
        for shape in [(4096, 4096), (4096, 14336), (14336, 14336)]:
            for m in (1, 8):
                order = dict(list(one_tile.items())[::(1 if rnd == 0 else -1)])
                ab(f"r{rnd} one-tile {shape[0]}x{shape[1]} M={m} float16", timed(shape, m), order)
        for shape in [(4096, 4096), (4096, 14336), (128256, 4096)]:
            order = dict(list(f32.items())[::(1 if rnd == 0 else -1)])
            ab(f"r{rnd} f32 {shape[0]}x{shape[1]} M=1 float32", timed(shape, 1, "float32"), order)


# Part "pipe" (run 2): the loader's pipeline without the loader: the file of
# part "fill" in 64 MiB chunks through 4 pinned slots; each chunk filled by
# 12 threads (pieces of PIECE), then either copied host -> device on its
# slot's stream ("h2d") or read by a kernel straight from the pinned slot
# ("zc", writing what it reads to the device, as the zero-copy path's
# kernels read it); an event per slot before the slot is filled again; LOOK
# chunks filling ahead. Against the part-"fill" figures it says how much of
# the loader's time is the pipeline's dependencies and how much is the
# loader's own Python.
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
    slot, n_slots = 64 << 20, 4
    mems = [cp.cuda.alloc_pinned_memory(slot) for _ in range(n_slots)]
    bufs = [np.frombuffer(m, dtype=np.uint8, count=slot) for m in mems]
    dev = cp.empty(size, dtype=cp.uint8)
    streams = [cp.cuda.Stream(non_blocking=True) for _ in range(n_slots)]
    events = [None] * n_slots
    pool = ThreadPoolExecutor(12)
    fd = os.open(path, os.O_RDONLY)
    mm = mmap.mmap(fd, size, prot=mmap.PROT_READ)
    view = np.frombuffer(mm, dtype=np.uint8)
    read_kernel = cp.RawKernel(r"""
    extern "C" __global__ void rd(const uint4* src, uint4* dst, long long n) {
        for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
             i += (long long)gridDim.x * blockDim.x) dst[i] = src[i];
    }""", "rd")

    def run(mode, piece, look):
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
            with streams[s]:
                if mode == "h2d":
                    dev[c * slot:(c + 1) * slot].set(bufs[s], stream=streams[s])
                else:
                    ptr = mems[s].ptr
                    src = cp.ndarray((slot // 16, 4), dtype=cp.uint32, memptr=cp.cuda.MemoryPointer(
                        cp.cuda.UnownedMemory(ptr, slot, mems[s], device_id=0), 0))
                    read_kernel((264,), (512,), (src, dev[c * slot:], cp.int64(slot // 16)))
                events[s] = streams[s].record()
            if c + look < n:
                start(c + look)
        for st in streams:
            st.synchronize()
        return time.perf_counter() - t0

    run("h2d", 16 << 20, 2)
    run("zc", 16 << 20, 2)
    for rnd in range(2):
        for mode in ("h2d", "zc"):
            for piece, look in ((4 << 20, 2), (16 << 20, 2), (16 << 20, 3), (64 << 20, 3)):
                t = run(mode, piece, look)
                print(f"r{rnd} pipe {mode} piece {piece >> 20} MiB look {look}: {t*1e3:.1f} ms "
                      f"{size/t/1e9:.1f} GB/s", flush=True)
    del view
    mm.close()
    os.close(fd)


# Part "cw3" (run 3): every x_shared kernel now copies with four warps
# (CQ_MV_XS_COPY_WARPS); the eight-warp builds appended as "_c8" ("_xsq_c8",
# "_xs_c8" for float16 x, float16 output; float32 x, float32 output "_xs_c8"
# of both geometries), on the activation row counts run 2 did not measure.
CW3_EXTRA = "\n".join(
    ["CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 64, 2, true, true, 8, _xsq_c8, CQ_MV_MIN_BLOCKS)",
     "CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 64, 2, true, false, 8, _xs_c8, CQ_MV_MIN_BLOCKS)"]
    + [f"CQ_MV_TC_KERNEL_XQ(f32, true, 1, f32, float, 16, {kb}, {st}, true, false, 8, _xs_c8, CQ_MV_MIN_BLOCKS)"
       for kb, st in ((64, 2), (32, 3))])

if part == "cw3":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    mk.EXTRA_INSTANTIATIONS = CW3_EXTRA
    real_name = mk.mv_tc_name
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)

    def setting(**suffixes):
        base = module_setting(mm)

        def apply():
            base()
            mk.mv_tc_name = cw2_namer(real_name, **suffixes)
        return apply

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%) {last['k'][0].split('_s', 1)[-1]}"
        return fn
    settings = {"c4": setting(), "c8": setting(q="_c8", xs="_c8", f32xs="_c8")}
    cases = [((4096, 4096), m, "float16") for m in (1, 2, 4)] + \
        [((4096, 14336), m, "float16") for m in (1, 2)] + \
        [((4096, 4096), m, "float32") for m in (1, 2)] + [((4096, 14336), m, "float32") for m in (1, 2)] + \
        [((14336, 4096), m, "float32") for m in (1, 2)] + [((128256, 4096), m, "float32") for m in (1, 2)] + \
        [((14336, 4096), 1, "float16"), ((128256, 4096), 1, "float16")]
    for shape, m, xd in cases:
        q, _ = bench.weights(shape)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
        outs = []
        for apply in settings.values():
            apply()
            y = mm.matmul(x, q[0], out=cp.full((m, shape[0]), cp.nan, dtype=xd))
            outs.append((y.view(cp.uint16 if xd == "float16" else cp.uint32), last["k"][0]))
        same = all(bool((o == outs[0][0]).all()) for o, _ in outs)
        print(f"{shape} M={m} {xd}: bit-identical {same}, kernels {[k for _, k in outs]}", flush=True)
    for rnd in range(2):
        order = settings if rnd == 0 else dict(list(settings.items())[::-1])
        for shape, m, xd in cases:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), order)


# Part "rt" (run 4): the queue kernel ("_xsq", float16 x) with 32-row tiles:
# half as many tiles, so half the per-tile code (queue, tile set-up,
# reduction) for the same rows; the price is occupancy (shared memory a
# thread block, KiB with 8 KiB of records at M = 1): (16, 64, 2) 45 (5 an SM,
# shipped); (32, 64, 2) 83 (2); (32, 32, 2) 46 (4); (32, 32, 3) 65 (3, no
# next-tile copies: those need two stages). Four copy warps in each. Run 4
# failed (the plan refused the geometries: their "_xs" kernels were missing);
# run 5 is this version.
RT_GEOMETRIES = ((32, 64, 2), (32, 32, 2), (32, 32, 3))
RT_EXTRA = "\n".join(f"CQ_MV_TC_KERNEL_XS(f16, false, f16, cq_f16, {r}, {kb}, {st}, {q}, {suffix})"
                      for r, kb, st in RT_GEOMETRIES for q, suffix in (("false", "_xs"), ("true", "_xsq")))

if part == "rt":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    mk.EXTRA_INSTANTIATIONS = RT_EXTRA
    shipped_queue_geometry = mk.MV_QUEUE_GEOMETRY
    # the plan checks a forced MV_GEOMETRY against the module's kernels (the
    # plan asks for the "_xs" kernel's occupancy before it takes "_xsq")
    real_names = mm._compiled_kernel_names
    extra_names = frozenset(mk.mv_tc_name("float16", "float16", 1, g, x_shared=True, queue=q)
                            for g in RT_GEOMETRIES for q in (False, True))
    mm._compiled_kernel_names = lambda: real_names() | extra_names
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)

    def setting(geo):
        base = module_setting(mm, geometry=geo)

        def apply():
            base()
            mk.MV_QUEUE_GEOMETRY = geo or shipped_queue_geometry
        return apply
    settings = {"16x64x2": setting(None)}
    settings.update({"x".join(map(str, g)): setting(g) for g in RT_GEOMETRIES})
    cases = [(shape, m) for shape in ((128256, 4096), (14336, 4096), (28672, 4096), (14336, 14336))
             for m in (1, 4)]
    for shape, m in cases:
        q, _ = bench.weights(shape)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
        outs = []
        for apply in settings.values():
            apply()
            try:
                y = mm.matmul(x, q[0], out=cp.full((m, shape[0]), cp.nan, dtype=cp.float16)).astype(cp.float32)
                outs.append((y, last["k"]))
            except Exception as exc:  # a geometry without the kernel the plan picked
                outs.append((None, f"{type(exc).__name__}"))
        ref = outs[0][0]
        err = [float(cp.linalg.norm(o - ref) / cp.linalg.norm(ref)) if o is not None else float("nan")
               for o, _ in outs]
        print(f"{shape} M={m}: relative difference to 16x64x2 {['%.1e' % e for e in err]}, "
              f"kernels {[k for _, k in outs]}", flush=True)

    def timed(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float16", None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%)"
        return fn
    for rnd in range(2):
        order = settings if rnd == 0 else dict(list(settings.items())[::-1])
        for shape, m in cases:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} float16", timed(shape, m), order)

# Part "hi" (run 6, at commit 80edf75; the kernel's CW < 0 branch it needs was
# taken out after it): which four warps copy. Warp 0 also sums the tile's K
# interleaves and thread 0 takes the queue's next tile, so with the first
# four warps copying, warp 0 has the most per-tile work. "_hi": the last
# four warps copy (template CW = -4), appended for every x_shared kernel the
# benchmark uses (float16 x "_xsq" and "_xs", float32 x "_xs" of both
# geometries; their own output dtype).
HI_EXTRA = "\n".join(
    ["CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 64, 2, true, true, -4, _xsq_hi, CQ_MV_MIN_BLOCKS)",
     "CQ_MV_TC_KERNEL_XQ(f16, false, 1, f16, cq_f16, 16, 64, 2, true, false, -4, _xs_hi, CQ_MV_MIN_BLOCKS)"]
    + [f"CQ_MV_TC_KERNEL_XQ(f32, true, 1, f32, float, 16, {kb}, {st}, true, false, -4, _xs_hi, CQ_MV_MIN_BLOCKS)"
       for kb, st in ((64, 2), (32, 3))])

if part == "hi":
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    mk.EXTRA_INSTANTIATIONS = HI_EXTRA
    real_name = mk.mv_tc_name
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)

    def setting(**suffixes):
        base = module_setting(mm)

        def apply():
            base()
            mk.mv_tc_name = cw2_namer(real_name, **suffixes)
        return apply

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%) {last['k'][0].split('_s', 1)[-1]}"
        return fn
    settings = {"lo": setting(), "hi": setting(q="_hi", xs="_hi", f32xs="_hi")}
    cases = [((128256, 4096), m, "float16") for m in (1, 4, 8)] + \
        [((14336, 4096), m, "float16") for m in (1, 4, 8)] + \
        [((4096, 4096), 1, "float16"), ((4096, 14336), 1, "float16"), ((4096, 14336), 1, "float32"),
         ((128256, 4096), 1, "float32"), ((28672, 4096), 1, "float16"), ((14336, 14336), 1, "float16")]
    for shape, m, xd in cases:
        q, _ = bench.weights(shape)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
        outs = []
        for apply in settings.values():
            apply()
            y = mm.matmul(x, q[0], out=cp.full((m, shape[0]), cp.nan, dtype=xd))
            outs.append((y.view(cp.uint16 if xd == "float16" else cp.uint32), last["k"][0]))
        same = all(bool((o == outs[0][0]).all()) for o, _ in outs)
        print(f"{shape} M={m} {xd}: bit-identical {same}, kernels {[k for _, k in outs]}", flush=True)
    for rnd in range(3):
        order = settings if rnd % 2 == 0 else dict(list(settings.items())[::-1])
        for shape, m, xd in cases:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), order)

# Part "bps" (run 7): K split for grids whose tiles are not a whole number of
# waves. 14336 x 4096 has 896 tiles for 660 resident thread blocks (M = 1):
# 236 blocks take a second tile while 424 wait, so the grid runs two tile
# times for 1.36 tiles of work a block. Split in two over K (two queues, 330
# blocks each), a unit is half a tile and a block runs 2.7 of them: the tail
# is half a tile. MV_BLOCKS_PER_SM (bps, shipped 0.5) sets how many (tile,
# split) blocks the plan aims for: 3 x the resident ones splits 14336 x 4096
# in two, 4096^2 in two, 4096 x 14336 in seven (2: five); 128256 x 4096 is
# not split (control).
if part == "bps":
    import cupyquant.qmatmul as mm
    from test_bench_matmul import get_bench
    bench = get_bench()
    print(f"copy {bench.ceiling()/1e9:.0f} GB/s", flush=True)
    last = launch_spy(mm)
    shipped_bps = mm.MV_BLOCKS_PER_SM

    def setting(bps):
        def apply():
            mm.MV_BLOCKS_PER_SM = bps
            mm._mv_plans.clear()
        return apply

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f} ({r['frac_copy']*100:.1f}%) {last['k'][1]}"
        return fn
    settings = {"0.5": setting(shipped_bps), "2": setting(2.0), "3": setting(3.0)}
    cases = [((14336, 4096), 1, "float16"), ((14336, 4096), 8, "float16"), ((14336, 4096), 1, "float32"),
             ((4096, 4096), 1, "float16"), ((4096, 4096), 8, "float16"),
             ((4096, 14336), 1, "float16"), ((4096, 14336), 1, "float32"),
             ((11008, 4096), 1, "float16"), ((28672, 4096), 1, "float16"), ((14336, 2048), 1, "float16"),
             ((128256, 4096), 1, "float16")]
    for shape, m, xd in cases:
        q, _ = bench.weights(shape)
        x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(xd)
        ref = x.astype(cp.float64) @ q[0].dequant(dtype=cp.float32).astype(cp.float64).T
        errs, kerns = [], []
        for apply in settings.values():
            apply()
            y = mm.matmul(x, q[0], out=cp.full((m, shape[0]), cp.nan, dtype=xd)).astype(cp.float64)
            kerns.append(last["k"])
            errs.append(float(cp.linalg.norm(y - ref) / cp.linalg.norm(ref)))
        print(f"{shape} M={m} {xd}: relative error {['%.1e' % e for e in errs]}, kernels {kerns}", flush=True)
    for rnd in range(2):
        order = settings if rnd == 0 else dict(list(settings.items())[::-1])
        for shape, m, xd in cases:
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), order)
    mm.MV_BLOCKS_PER_SM = shipped_bps
