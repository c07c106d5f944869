"""Session 25 device probes. Usage: python3 notes/probe_s25.py PART[:ARG] [PART ...]

reg: issue 4. Can the GPU read the file's page cache itself, with no host
     copy into pinned staging buffers? The file's read-only memory map is
     page-locked with cudaHostRegister (flag ReadOnly) and then read by DMA
     (memcpyAsync into device staging) or by the dequantization kernel over
     the bus. Times: registration (whole file, 64 MiB windows on 1 / 4 / 8
     threads), unregistration, the GPU's reads, and a small pipeline
     (register ahead in threads, copy + dequantize, unregister behind),
     against a pinned copy of the same bytes in the same run.
sm:  issue 5, M = 2-8. The split-K matrix-vector grids launched (tiles,
     splits): thread block b of the launch order is tile b % tiles of split
     b // tiles, so the blocks an SM holds at once belong to two or three
     splits and read that many different stretches of x (from L1 / L2, 512
     bytes a Q4_0 block at M = 8 against 288 of weights). With
     CQ_MV_SPLIT_MAJOR the grid is (splits, tiles): a tile's splits are
     neighbours, and while blocks are dealt round-robin over the 132 SMs
     (132 = 3 x 44) an SM's blocks belong to one split. The same module
     compiled with the define, the grid swapped at the launch; outputs
     compared bit for bit, then the benchmark's timing in alternating order.
xr:  issue 5, M = 2-8, float16 x. ncu (run 2) put 9.7 of the 23.6 stall
     cycles an instruction of the M = 8 kernel on 4096 x 14336 on its x loads
     (L1 / L2, hit rate 26% in L1). The "_xr" kernels (XR in cq_mv_tc, here
     instantiated through EXTRA_INSTANTIATIONS) copy each stage's x with its
     weights into a ring of their own by cp.async. Forced plans of several
     geometries (split counts by the shipped rule, _mv_fit) against the
     shipped plan: first the error against float64 and bits against the
     plan's kernel where the geometry and splits are the same, then the
     benchmark's timing in alternating order.
xrc: the same with 32- and 64-row thread blocks, split counts 1-6, the
     split sums in clusters where the shipped rule allows (run 4).
xrmem: every "_xr" kernel once (for compute-sanitizer).
xron: the shipped "_xr" plan (MV_X_RING) on and off, float16 x, M = 2-8,
     long-K shapes; two rounds in alternating order (run 5).
xrrule: (written for the next session, not run) the "_xr" rule's edges:
     float16 x, M = 2 / 4 / 6 / 8, shapes of 40-128 64-row tiles and K of
     8192-28672; the plan with MV_X_RING on and off, and "_xr" forced with
     1-4 splits (clusters by the shipped rule). Shares its rows with xron
     (_x_ring_ab), which ran before the two were one function.
ncu8 [sm]: ncu target, 4096 x 14336 float16 M = 8 (the plan), default or split-major.

Parts sm and ncu8:sm need the tree of 9d0edd4 (CQ_MV_SPLIT_MAJOR was taken
out again: the split-major grids were slower). Parts xr, xrc and xrmem ran
before the shipped plan; since then _mv_plan_clusters counts the tiles of
the plan's geometry itself, and xrc's cluster wrapper hands it the 16-row
count as the shipped code does.
ntload: issue 4. Median of five load_gguf calls on the load benchmark's
     model (2.4 GB), in this process; run under different GLIBC_TUNABLES
     (non-temporal store threshold of memcpy: the fill's 4 MiB copies use
     ordinary stores by default, which read each destination line first).
"""
import mmap
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

FILE_BYTES = 18 * (2_400_000_000 // 18 // 4096 * 4096)   # whole Q4_0 blocks, whole pages
WINDOW = 64 << 20
REG_READ_ONLY = 8        # cudaHostRegisterReadOnly
REG_PORTABLE = 1


def _write_file(path):
    if os.path.exists(path) and os.path.getsize(path) == FILE_BYTES:
        return
    rng = np.random.default_rng(0)
    with open(path, "wb") as f:
        left = FILE_BYTES
        while left:
            n = min(left, 256 << 20)
            f.write(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
            left -= n
        f.flush()
        os.fsync(f.fileno())


def _warm(path):
    t = time.perf_counter()
    with open(path, "rb") as f:
        while f.read(256 << 20):
            pass
    return FILE_BYTES / (time.perf_counter() - t) / 1e9


class _Mapped:
    """A fresh read-only mapping of the file (no page mapped in yet)."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDONLY)
        self.mm = mmap.mmap(self.fd, 0, access=mmap.ACCESS_READ)
        self.arr = np.frombuffer(self.mm, np.uint8)
        self.base = self.arr.ctypes.data

    def close(self):
        del self.arr
        self.mm.close()
        os.close(self.fd)


def part_reg():
    import cupy as cp
    from cupyquant import FORMATS
    from cupyquant.gpu.dequant import dequant_launcher
    rt = cp.cuda.runtime
    print("runtime has:", [n for n in ("hostRegister", "hostUnregister", "hostGetDevicePointer") if hasattr(rt, n)])
    if not hasattr(rt, "hostGetDevicePointer"):
        rt.hostGetDevicePointer = lambda p, f: p      # unified addressing: the same address
    path = "/tmp/cq_reg_probe.bin"
    t = time.perf_counter()
    _write_file(path)
    print(f"file {FILE_BYTES / 1e9:.2f} GB written in {time.perf_counter() - t:.1f} s; "
          f"read {_warm(path):.1f} GB/s, again {_warm(path):.1f} GB/s", flush=True)
    dev = cp.cuda.Device()
    attrs = dict(dev.attributes)
    print("attributes:", {k: v for k, v in attrs.items()
                          if "Regist" in k or "Pageable" in k or "HostNative" in k or "Unified" in k})
    print("kernel:", os.uname().release, "cpus", os.cpu_count(), flush=True)
    flags = REG_READ_ONLY

    def register(base, n):
        rt.hostRegister(base, n, flags)

    # 1. the whole file in one call, fresh mapping; again on the same mapping
    for label in ("fresh mapping", "same mapping again"):
        if label == "fresh mapping":
            m = _Mapped(path)
        t = time.perf_counter()
        try:
            register(m.base, FILE_BYTES)
        except Exception as exc:
            print(f"whole file register ({label}) FAILED {type(exc).__name__}: {exc}", flush=True)
            m.close()
            return
        t_reg = time.perf_counter() - t
        t = time.perf_counter()
        rt.hostUnregister(m.base)
        t_unreg = time.perf_counter() - t
        print(f"whole file ({label}): register {t_reg * 1e3:.1f} ms ({FILE_BYTES / t_reg / 1e9:.1f} GB/s), "
              f"unregister {t_unreg * 1e3:.1f} ms", flush=True)
    m.close()

    # 2. without the ReadOnly flag (expected to fail on a read-only mapping)
    m = _Mapped(path)
    try:
        rt.hostRegister(m.base, WINDOW, 0)
        rt.hostUnregister(m.base)
        print("flag 0 on the read-only map: accepted")
    except Exception as exc:
        print(f"flag 0 on the read-only map: {type(exc).__name__}: {str(exc)[:100]}")
    m.close()

    # 3. windows on 1 / 4 / 8 threads, fresh mappings; and pre-faulted (MADV_POPULATE_READ)
    n_win = FILE_BYTES // WINDOW
    for threads in (1, 4, 8):
        for populate in (False, True):
            m = _Mapped(path)
            t_pop = 0.0
            if populate:
                t = time.perf_counter()
                adv = getattr(mmap, "MADV_POPULATE_READ", 22)
                with ThreadPoolExecutor(threads) as pool:
                    list(pool.map(lambda i: m.mm.madvise(adv, i * WINDOW, WINDOW), range(n_win)))
                t_pop = time.perf_counter() - t
            t = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda i: register(m.base + i * WINDOW, WINDOW), range(n_win)))
            t_reg = time.perf_counter() - t
            t = time.perf_counter()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda i: rt.hostUnregister(m.base + i * WINDOW), range(n_win)))
            t_unreg = time.perf_counter() - t
            m.close()
            nb = n_win * WINDOW
            print(f"64 MiB windows, {threads} threads, populate {populate}: "
                  f"populate {t_pop * 1e3:.1f} ms, register {t_reg * 1e3:.1f} ms "
                  f"({nb / t_reg / 1e9:.1f} GB/s), unregister {t_unreg * 1e3:.1f} ms", flush=True)

    # 4. GPU reads of registered file pages: DMA and kernels, against pinned memory
    fmt = FORMATS["Q4_0"]
    launch = dequant_launcher(fmt, "float16")
    n_bytes = n_win * WINDOW
    staging = cp.empty(WINDOW, cp.uint8)
    out = cp.empty(WINDOW // 18 * 32, cp.float16)
    pinned = cp.cuda.alloc_pinned_memory(n_bytes)
    pinned_ptr = pinned.ptr
    m = _Mapped(path)
    register(m.base, n_bytes)
    dptr = rt.hostGetDevicePointer(m.base, 0)
    print(f"device pointer == host pointer: {dptr == m.base}", flush=True)
    stream = cp.cuda.Stream(non_blocking=True)

    def timed(fn, reps=3):
        best = []
        for _ in range(reps):
            e0, e1 = cp.cuda.Event(), cp.cuda.Event()
            e0.record(stream)
            fn()
            e1.record(stream)
            e1.synchronize()
            best.append(cp.cuda.get_elapsed_time(e0, e1) * 1e-3)
        return min(best), max(best)

    def dma(src):
        def go():
            for i in range(n_win):
                rt.memcpyAsync(staging.data.ptr, src + i * WINDOW, WINDOW, rt.memcpyHostToDevice, stream.ptr)
        return go

    def zero_copy(src):
        def go():
            for i in range(n_win):
                launch(src + i * WINDOW, out.data.ptr, WINDOW // 18, stream=stream)
        return go

    def dma_dequant(src):
        def go():
            for i in range(n_win):
                rt.memcpyAsync(staging.data.ptr, src + i * WINDOW, WINDOW, rt.memcpyHostToDevice, stream.ptr)
                launch(staging.data.ptr, out.data.ptr, WINDOW // 18, stream=stream)
        return go

    for name, fn in (("DMA", dma), ("zero-copy dequant", zero_copy), ("DMA + dequant (1 stream)", dma_dequant)):
        for src_name, src in (("pinned", pinned_ptr), ("registered file", dptr)):
            lo, hi = timed(fn(src))
            print(f"{name} from {src_name}: {lo * 1e3:.1f}-{hi * 1e3:.1f} ms ({n_bytes / lo / 1e9:.1f} GB/s)",
                  flush=True)
    # the same bits either way
    launch(dptr, out.data.ptr, WINDOW // 18, stream=stream)
    a = cp.asnumpy(out, stream=stream)
    staging.set(m.arr[:WINDOW], stream=stream)
    launch(staging.data.ptr, out.data.ptr, WINDOW // 18, stream=stream)
    b = cp.asnumpy(out, stream=stream)
    print("zero-copy from the file == dequant of its bytes on the device:",
          bool(np.array_equal(a.view(np.uint16), b.view(np.uint16))), flush=True)
    rt.hostUnregister(m.base)
    m.close()
    del pinned

    # 5. a pipeline: windows registered ahead by threads, read by the GPU (zero-copy dequant or
    #    DMA + dequant on 4 streams), unregistered behind; fresh mapping each time
    streams = [cp.cuda.Stream(non_blocking=True) for _ in range(4)]
    stagings = [cp.empty(WINDOW, cp.uint8) for _ in range(4)]
    outs = cp.empty(n_win * (WINDOW // 18 * 32), cp.float16)
    out_win = WINDOW // 18 * 32 * 2

    def pipeline(mode, threads, ahead):
        m = _Mapped(path)
        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            regs = {}
            unregs = []
            events = {}

            def want(i):
                if i < n_win and i not in regs:
                    regs[i] = pool.submit(register, m.base + i * WINDOW, WINDOW)
            for i in range(ahead):
                want(i)
            for i in range(n_win):
                want(i + ahead)
                regs[i].result()
                s = streams[i % 4]
                src = rt.hostGetDevicePointer(m.base + i * WINDOW, 0) if mode != "dma" else m.base + i * WINDOW
                if mode == "dma":
                    rt.memcpyAsync(stagings[i % 4].data.ptr, src, WINDOW, rt.memcpyHostToDevice, s.ptr)
                    src = stagings[i % 4].data.ptr
                launch(src, outs.data.ptr + i * out_win, WINDOW // 18, stream=s)
                ev = cp.cuda.Event(disable_timing=True)
                ev.record(s)
                events[i] = ev

                def unreg(i=i, ev=ev):
                    ev.synchronize()
                    rt.hostUnregister(m.base + i * WINDOW)
                unregs.append(pool.submit(unreg))
            for f in unregs:
                f.result()
        for s in streams:
            s.synchronize()
        dt = time.perf_counter() - t0
        m.close()
        return dt

    pinned = cp.cuda.alloc_pinned_memory(WINDOW)
    lo, _ = timed(lambda: [rt.memcpyAsync(staging.data.ptr, pinned.ptr, WINDOW, rt.memcpyHostToDevice, stream.ptr)
                           for _ in range(n_win)])
    print(f"pinned H2D of {n_bytes / 1e9:.2f} GB (one 64 MiB buffer again and again): {lo * 1e3:.1f} ms", flush=True)
    for mode in ("zero-copy", "dma"):
        for threads, ahead in ((4, 4), (8, 8), (8, 16)):
            times = [pipeline(mode, threads, ahead) for _ in range(3)]
            print(f"pipeline {mode}, {threads} threads, {ahead} ahead: "
                  + " / ".join(f"{x * 1e3:.1f}" for x in times) + " ms", flush=True)


def _split_major_setting():
    """settings {"plan": ..., "sm": ...} of the matrix-vector module."""
    sys.path.insert(0, "notes")
    import cupyquant.qmatmul as mm
    from probe_util import module_setting
    shipped = module_setting(mm)
    major = module_setting(mm, defines={"CQ_MV_SPLIT_MAJOR": 1})
    real_launch = mm.launch
    state = {"swap": False, "last": None}

    def launch(kern, grid, *args, **kw):
        if kern.name.startswith("cq_q4_0_mv_tc_"):
            state["last"] = (kern.name.replace("cq_q4_0_mv_tc_", ""), tuple(grid), kw.get("cluster"))
            if state["swap"]:
                grid = (grid[1], grid[0])
                if kw.get("cluster"):
                    c = kw["cluster"]
                    kw["cluster"] = (c[1], c[0], c[2])
        return real_launch(kern, grid, *args, **kw)
    mm.launch = launch

    def setting(apply, swap):
        def go():
            apply()
            state["swap"] = swap
        return go
    return {"plan": setting(shipped, False), "sm": setting(major, True)}, state


def part_sm(rounds=3):
    rounds = int(rounds)
    import cupy as cp
    import cupyquant.qmatmul as mm
    sys.path.insert(0, "benchmarks")
    from probe_util import ab
    from test_bench_matmul import get_bench, random_q4_0_device
    settings, state = _split_major_setting()
    bench = get_bench()
    cases = [((4096, 14336), 8, "float16"), ((4096, 14336), 4, "float16"), ((4096, 14336), 2, "float16"),
             ((4096, 11008), 8, "float16"), ((4096, 4096), 8, "float16"), ((14336, 4096), 8, "float16"),
             ((4096, 14336), 8, "float32"), ((128256, 4096), 8, "float16"), ((4096, 14336), 1, "float16")]
    # bits: the same sums in the same order either way
    for (n, k), m, xd in cases:
        w = random_q4_0_device(n + 37, k, seed=3)
        x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(xd)
        outs = []
        for name, apply in settings.items():
            apply()
            outs.append(cp.asnumpy(mm.matmul(x, w, out=cp.full((m, n + 37), cp.nan, cp.float32))))
            plan = state["last"]
        same = outs[0].tobytes() == outs[1].tobytes()
        print(f"bits {n + 37}x{k} M={m} {xd}: {'equal' if same else 'DIFFERENT'} {plan}", flush=True)

    def timed(shape, m, xd):
        def fn():
            r, _ = bench.measure(shape, m, xd, None)
            return f"{r['time_us']:.2f}"
        return fn
    for rnd in range(rounds):
        for shape, m, xd in cases:
            order = dict(settings) if rnd % 2 == 0 else dict(reversed(list(settings.items())))
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m} {xd}", timed(shape, m, xd), order)
    settings["plan"]()


XR_KERNELS = ((16, 32, 2, 4), (32, 32, 2, 3), (16, 64, 2, 2), (16, 32, 3, 3), (32, 64, 2, 2), (16, 32, 2, 5))
#: part xrc (run 4): more rows a thread block (x read once for 32 / 64 rows)
XR_KERNELS_WIDE = ((32, 16, 2, 5), (32, 16, 3, 4), (64, 32, 2, 2), (64, 16, 2, 4))


def _xr_setup():
    """EXTRA_INSTANTIATIONS with the probe's "_xr" kernels (before the
    module is first used); returns {label: apply} and the launch record."""
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    mk.EXTRA_INSTANTIATIONS = "\n".join(
        f"CQ_MV_TC_KERNEL_XR({on}, {ot}, {rt}, {kb}, {st}, {mb}, _xr{mb})"
        for on, ot in (("f32", "float"), ("f16", "cq_f16"), ("bf16", "cq_bf16"))
        for rt, kb, st, mb in XR_KERNELS + XR_KERNELS_WIDE)
    real_plan, real_clusters = mm._mv_plan, mm._mv_plan_clusters
    force = {"k": None}
    last = {}

    def plan(cp_, x_dtype, y_dtype, mc, nb, tiles, n_tiles, sms):
        if force["k"] is None or mc < 2 or x_dtype != cp_.float16:
            return real_plan(cp_, x_dtype, y_dtype, mc, nb, tiles, n_tiles, sms)
        (rt, kb, st, mb), splits_req = force["k"]
        name = f"cq_q4_0_mv_tc_f16_{mk.out_suffix(y_dtype)}_n1_r{rt}_k{kb}_s{st}_xr{mb}"
        smem = mk.mv_smem_bytes(rt, kb, st) + st * mc * (kb * 64 + 32)
        tiles_rt = -(-tiles * 16 // rt)
        bps = mm.MV_BLOCKS_PER_SM_LONG_K if mc >= 2 and nb * 32 >= mm.MV_LONG_K else mm.MV_BLOCKS_PER_SM
        kern, resident, (splits, sps) = mm._mv_fit(cp_, name, smem, sms, nb, tiles_rt, kb, bps)
        if splits_req:
            n_st = -(-nb // kb)
            sps = -(-n_st // splits_req)
            splits = -(-n_st // sps)
        return kern, (rt, kb, st), smem, tiles_rt, splits, sps, False, tiles_rt * splits >= resident

    def clusters(cp_, plan_, mc, tiles, sms, dev):
        if force["k"] is not None and "_xr" in plan_[0].name:
            if not force.get("clusters"):
                return plan_ + (False,)
            return real_clusters(cp_, plan_, mc, tiles, sms, dev)  # the shipped rule
        return real_clusters(cp_, plan_, mc, tiles, sms, dev)
    mm._mv_plan, mm._mv_plan_clusters = plan, clusters
    real_launch = mm.launch

    def launch(kern, grid, *args, **kw):
        if kern.name.startswith("cq_q4_0_mv_tc_"):
            last["k"] = (kern.name.replace("cq_q4_0_mv_tc_", "").split("_n1_")[-1], tuple(grid),
                         "c" if kw.get("cluster") else "")
        return real_launch(kern, grid, *args, **kw)
    mm.launch = launch

    def setting(k, splits=None, clusters=False):
        def apply():
            force["k"] = None if k is None else (k, splits)
            force["clusters"] = clusters
            mm._mv_plans.clear()
        return apply
    settings = {"plan": setting(None)}
    for k in XR_KERNELS:
        settings[f"r{k[0]}k{k[1]}s{k[2]}b{k[3]}"] = setting(k)
    return settings, setting, last


def part_xr(rounds=2):
    rounds = int(rounds)
    import cupy as cp
    import numpy as np
    import cupyquant.qmatmul as mm
    from cupyquant import FORMATS
    sys.path.insert(0, "benchmarks")
    sys.path.insert(0, "notes")
    from probe_util import ab
    from test_bench_matmul import get_bench, random_q4_0_device
    settings, setting, last = _xr_setup()
    rng = np.random.default_rng(0)
    # accuracy against float64, and bits against the plan where the kernel differs only in XR
    for n, k in ((4096 + 37, 14336), (4096 + 37, 4096)):
        w = random_q4_0_device(n, k, seed=5)
        w64 = FORMATS["Q4_0"].decode(cp.asnumpy(w.data)).reshape(n, k).astype(np.float64)
        for m in (8, 5, 2):
            x = cp.asarray(rng.standard_normal((m, k)).astype(np.float16))
            ref = cp.asnumpy(x).astype(np.float64) @ w64.T
            cells = []
            outs = {}
            for label, apply in settings.items():
                apply()
                y = mm.matmul(x, w, out=cp.full((m, n), np.nan, cp.float32), path="matvec_f16tc")
                outs[label] = (cp.asnumpy(y), last["k"])
                err = np.linalg.norm(outs[label][0] - ref) / np.linalg.norm(ref)
                cells.append(f"{label} {last['k'][0]} {last['k'][1]} err {err:.2e}")
            plan_y, plan_k = outs["plan"]
            same = [lab for lab, (y, kk) in outs.items() if lab != "plan" and kk[1] == plan_k[1]
                    and kk[0].split("_xr")[0] == plan_k[0] and y.tobytes() == plan_y.tobytes()]
            print(f"{n}x{k} M={m}: " + " | ".join(cells) + f" || bits equal to the plan: {same}", flush=True)
    settings["plan"]()
    bench = get_bench()

    def timed(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float16", None)
            return f"{r['time_us']:.2f} {last['k'][1]}"
        return fn
    cases = [((4096, 14336), 8), ((4096, 14336), 4), ((4096, 14336), 2), ((4096, 11008), 8),
             ((4096, 4096), 8), ((14336, 4096), 8), ((128256, 4096), 8)]
    for rnd in range(rounds):
        for shape, m in cases:
            order = dict(settings) if rnd % 2 == 0 else dict(reversed(list(settings.items())))
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m}", timed(shape, m), order)
    # split counts around the rule's, 4096 x 14336 M = 8
    for k in XR_KERNELS[:3]:
        order = {"plan": settings["plan"]}
        for sp in (1, 2, 3, 4, 6):
            order[f"r{k[0]}k{k[1]}s{k[2]}b{k[3]} S{sp}"] = setting(k, sp)
        ab("splits 4096x14336 M=8", timed((4096, 14336), 8), order)
    settings["plan"]()


def part_xrc(rounds=2):
    """Split counts 1-6 of every "_xr" kernel, clusters by the shipped rule
    (on the kernel's own tiles), against the plan; 4096 x 14336 M = 8 (rounds),
    M = 4 and 4096 x 11008 M = 8 (one round). Then the error against float64
    of the fastest three on 4133 x 14336 M = 8."""
    rounds = int(rounds)
    import cupy as cp
    import numpy as np
    import cupyquant.qmatmul as mm
    from cupyquant import FORMATS
    sys.path.insert(0, "benchmarks")
    sys.path.insert(0, "notes")
    from test_bench_matmul import get_bench, random_q4_0_device
    settings, setting, last = _xr_setup()
    bench = get_bench()
    best = {}
    for shape, m, reps in (((4096, 14336), 8, rounds), ((4096, 14336), 4, 1), ((4096, 11008), 8, 1)):
        for rnd in range(reps):
            for k in XR_KERNELS[1:2] + XR_KERNELS[4:5] + XR_KERNELS_WIDE + XR_KERNELS[0:1]:
                cells = []
                for sp in ["plan", 1, 2, 3, 4, 6]:
                    (settings["plan"] if sp == "plan" else setting(k, sp, clusters=True))()
                    r, _ = bench.measure(shape, m, "float16", None)
                    cells.append(f"{sp if sp == 'plan' else 'S%d' % sp} {r['time_us']:.2f} {last['k'][1]}{last['k'][2]}")
                    if sp != "plan":
                        key = (shape, m)
                        if key not in best or r["time_us"] < best[key][0]:
                            best[key] = (r["time_us"], k, sp)
                print(f"r{rnd} {shape[0]}x{shape[1]} M={m} r{k[0]}k{k[1]}s{k[2]}b{k[3]}: " + " | ".join(cells),
                      flush=True)
    print("best:", best, flush=True)
    n, kk = 4133, 14336
    w = random_q4_0_device(n, kk, seed=5)
    w64 = FORMATS["Q4_0"].decode(cp.asnumpy(w.data)).reshape(n, kk).astype(np.float64)
    x = cp.random.standard_normal((8, kk), dtype=cp.float32).astype(cp.float16)
    ref = cp.asnumpy(x).astype(np.float64) @ w64.T
    for k in XR_KERNELS_WIDE + XR_KERNELS[1:2]:
        for sp in (2, 3, 4):
            setting(k, sp, clusters=True)()
            y = cp.asnumpy(mm.matmul(x, w, out=cp.full((8, n), cp.nan, cp.float32)))
            print(f"err {k} S{sp} {last['k']}: {np.linalg.norm(y - ref) / np.linalg.norm(ref):.2e}", flush=True)
    settings["plan"]()


def _x_ring_ab(cases, rounds, counts=()):
    """Rows of the benchmark's timing, float16 x, in alternating order: the
    shipped "_xr" plan ("ring"), MV_X_RING off ("off"), and "_xr" forced
    with each of ``counts`` K splits whatever the rule's limits ("S<n>")."""
    import cupyquant.qmatmul as mm
    sys.path.insert(0, "benchmarks")
    sys.path.insert(0, "notes")
    from probe_util import ab, launch_spy
    from test_bench_matmul import get_bench
    launched = launch_spy(mm)
    bench = get_bench()
    real_splits, real_min = mm._mv_x_ring_splits, mm.MV_X_RING_MIN_STAGES

    def setting(on, splits=None):
        def apply():
            mm.MV_X_RING = on
            if splits is None:
                mm._mv_x_ring_splits, mm.MV_X_RING_MIN_STAGES = real_splits, real_min
            else:
                def forced(nb, tiles_r, sms):
                    n_st = -(-nb // 32)
                    sps = -(-n_st // min(n_st, splits))
                    return -(-n_st // sps), sps
                mm._mv_x_ring_splits, mm.MV_X_RING_MIN_STAGES = forced, 1
            mm._mv_plans.clear()
        return apply

    def timed(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float16", None)
            return f"{r['time_us']:.2f} {launched['k'][0].split('_n1_')[-1]} {launched['k'][1]}"
        return fn
    for rnd in range(rounds):
        for shape, m in cases:
            order = {"ring": setting(True), "off": setting(False)}
            for sp in counts:
                order[f"S{sp}"] = setting(True, sp)
            if rnd % 2:
                order = dict(reversed(list(order.items())))
            ab(f"r{rnd} {shape[0]}x{shape[1]} M={m}", timed(shape, m), order)
    setting(True)()


def part_xron(rounds=2):
    cases = [((4096, 14336), m) for m in (2, 3, 4, 6, 8)] + [((4096, 11008), 4), ((4096, 11008), 8),
             ((5120, 13824), 4), ((5120, 13824), 8), ((2048, 8192), 4), ((2048, 8192), 8),
             ((4096, 8192), 8), ((8192, 8192), 8), ((8192, 28672), 8)]
    _x_ring_ab(cases, int(rounds))


def part_xrrule(rounds=1):
    shapes = [(4096, 11008), (4096, 8192), (3072, 8192), (2560, 10240), (3072, 14336), (6144, 16384),
              (4096, 28672), (8192, 14336)]
    _x_ring_ab([(shape, m) for shape in shapes for m in (2, 4, 6, 8)], int(rounds), counts=(1, 2, 3, 4))


def part_xrmem():
    """Every "_xr" kernel once at a few shapes (for compute-sanitizer)."""
    import cupy as cp
    import cupyquant.qmatmul as mm
    sys.path.insert(0, "benchmarks")
    from test_bench_matmul import random_q4_0_device
    settings, setting, last = _xr_setup()
    for n, k in ((4133, 14336), (77, 4128)):
        w = random_q4_0_device(n, k, seed=1)
        for m in (8, 3):
            x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(cp.float16)
            ref = None
            for label, apply in settings.items():
                apply()
                y = cp.asnumpy(mm.matmul(x, w, out=cp.full((m, n), cp.nan, cp.float32), path="matvec_f16tc"))
                if ref is None:
                    ref = y
                print(f"{n}x{k} M={m} {label} {last['k']}: max |y - plan| {abs(y - ref).max():.3g}", flush=True)
    settings["plan"]()


def part_ncu8(which="plan"):
    import cupy as cp
    import cupyquant.qmatmul as mm
    sys.path.insert(0, "benchmarks")
    from test_bench_matmul import random_q4_0_device
    settings, state = _split_major_setting()
    settings[which]()
    w = random_q4_0_device(4096, 14336, seed=3)
    x = cp.random.standard_normal((8, 14336), dtype=cp.float32).astype(cp.float16)
    out = cp.empty((8, 4096), cp.float16)
    for _ in range(6):
        mm.matmul(x, w, out=out)
    cp.cuda.Device().synchronize()
    print("kernel", state["last"], flush=True)


def part_ntload(loads=5):
    loads = int(loads)
    import cupy as cp
    sys.path.insert(0, "benchmarks")
    import test_bench_load as tb
    path = "/tmp/cq_load_probe.gguf"
    if not os.path.exists(path):
        t = time.perf_counter()
        tb.write_model(path, tb.model_specs(tb.LAYERS), {})
        print(f"model written in {time.perf_counter() - t:.1f} s", flush=True)
    tb.read_whole(path)
    times = []
    for _ in range(loads):
        res, dt = tb.timed_load(cp, path)
        del res
        times.append(dt)
    print(f"GLIBC_TUNABLES={os.environ.get('GLIBC_TUNABLES', '')!r}: load "
          + " / ".join(f"{t * 1e3:.1f}" for t in times) + f" ms, median {tb.median(times) * 1e3:.1f}", flush=True)


if __name__ == "__main__":
    for part in sys.argv[1:]:
        print(f"=== {part}", flush=True)
        name, *args = part.split(":")
        globals()["part_" + name](*args)
