"""Device probe, session 20 (H200).

    PYTHONPATH=. python notes/probe_s20.py cw   # "_xsq": 2 / 4 / 8 copying warps, and "_xs" (run 1)
    PYTHONPATH=. python notes/probe_s20.py fill [GiB]  # page cache -> pinned fill alone / with H2D (run 1)

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
