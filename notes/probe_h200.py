"""Device probe (H200, 2026-12-01): where the time goes before tuning.

1. Dequantization A/B: every format, float16 and float32 output, with the
   int->float magic and the paired float16 conversion off (old) and on (new),
   timed from CUDA-graph replays (no Python launch overhead), inputs rotated
   beyond the L2 cache; ratio to a 1 GiB device-to-device copy.
2. Loader ceilings: pinned and pageable host->device copy, pread from the page
   cache into pinned buffers with 1..16 threads, a dequantization kernel reading
   its input straight from pinned host memory (zero-copy), and
   cudaHostRegister of a read-only memory map.
Prints one table per part; run with PYTHONPATH=. from the repository root.
"""
import mmap
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import cupy as cp
import cupyx
import numpy as np

sys.path.insert(0, "benchmarks")
from gpu_timing import copy_bandwidth  # noqa: E402

sys.path.insert(0, "notes")
import dequant_variants  # noqa: E402

from cupyquant import FORMATS  # noqa: E402
from cupyquant.gpu.dequant import launch_dequant  # noqa: E402
from cupyquant.testing import sane_blocks  # noqa: E402

def page_cached_file(name: str, size: int = 2 << 30):
    """A file of random bytes in the temporary folder, read once so that it
    sits in the page cache: (path, size)."""
    path = os.path.join(tempfile.gettempdir(), name)
    with open(path, "wb") as f:
        blk = np.random.default_rng(2).integers(0, 255, 64 << 20, dtype=np.uint8).tobytes()
        for _ in range(size // len(blk)):
            f.write(blk)
    with open(path, "rb") as f:
        while f.read(64 << 20):
            pass
    return path, size

part = sys.argv[1] if len(sys.argv) > 1 else "all"
ceil = copy_bandwidth(cp)
sms = cp.cuda.Device().attributes["MultiProcessorCount"]
print(f"copy ceiling {ceil/1e9:.0f} GB/s, {sms} SMs", flush=True)

if part in ("all", "dequant"):
    # run 1 (2026-12-01): old = ("-DCQ_FAST_I2F=0", "-DCQ_PACK_F16X2=0"), i2f = ("-DCQ_PACK_F16X2=0",);
    # run 2: CQ_MIN_BLOCKS=3/4 and 32 KiB tiles; run 3: decode unroll 2 with and without
    # 4 blocks an SM for every format (macros since replaced by the per-decoder min_blocks /
    # decode_unroll of hip/common.h, set where run 3 showed a gain). Extra -D options per
    # variant go in this dict.
    variants = {"shipped": ()}
    dequant_variants.print_table(cp, ceil, sys.argv[2:] or list(FORMATS), variants,
                                 os.environ.get("PROBE_DTYPES", "float16,float32").split(","))

if part in ("all", "load"):
    rt = cp.cuda.runtime
    nb = 1 << 30
    pinned = cupyx.empty_pinned(nb, np.uint8)
    pinned[:] = 7
    pageable = np.full(nb, 7, np.uint8)
    dev = cp.empty(nb, cp.uint8)

    def h2d(ptr):
        s = cp.cuda.get_current_stream()
        rt.memcpyAsync(dev.data.ptr, ptr, nb, rt.memcpyHostToDevice, s.ptr)
        s.synchronize()
        t = time.perf_counter()
        for _ in range(3):
            rt.memcpyAsync(dev.data.ptr, ptr, nb, rt.memcpyHostToDevice, s.ptr)
        s.synchronize()
        return 3 * nb / (time.perf_counter() - t)
    print(f"H2D 1 GiB pinned {h2d(pinned.ctypes.data)/1e9:.1f} GB/s, "
          f"pageable {h2d(pageable.ctypes.data)/1e9:.1f} GB/s", flush=True)
    del pageable

    # zero-copy: the Q4_0 kernel reads pinned host memory directly
    fmt = FORMATS["Q4_0"]
    nblk = (256 << 20) // fmt.type_size
    qhost = cupyx.empty_pinned(nblk * fmt.type_size, np.uint8)
    qhost[:] = sane_blocks(fmt, nblk, np.random.default_rng(1)).reshape(-1)
    mem = cp.cuda.UnownedMemory(qhost.ctypes.data, qhost.nbytes, qhost, device_id=0)
    qview = cp.ndarray((qhost.nbytes,), cp.uint8, cp.cuda.MemoryPointer(mem, 0))
    qdev = cp.asarray(qhost)
    out = cp.empty(nblk * 32, cp.float16)
    for label, src in (("device", qdev), ("zero-copy pinned", qview)):
        launch_dequant(fmt, src, out)
        cp.cuda.Device().synchronize()
        t = time.perf_counter()
        for _ in range(3):
            launch_dequant(fmt, src, out)
        cp.cuda.Device().synchronize()
        dt = (time.perf_counter() - t) / 3
        ok = bool((out == fmt.dequant(qdev, dtype="float16")).all())
        print(f"Q4_0 dequant of 256 MB from {label}: {dt*1e3:.2f} ms = "
              f"{qhost.nbytes/dt/1e9:.1f} GB/s of input, exact vs device: {ok}", flush=True)
    del qview, mem

    # host fill: pread from a page-cached 2 GiB file into pinned slots
    path, size = page_cached_file("cq_probe.bin")
    fd = os.open(path, os.O_RDONLY)
    slot = 32 << 20
    for threads in (1, 4, 8, 12, 16):
        pool = ThreadPoolExecutor(threads)
        part_b = slot // threads // 65536 * 65536 or slot

        def fill(off, dst):
            mv = memoryview(dst)
            done = 0
            while done < dst.size:
                done += os.preadv(fd, [mv[done:]], off + done)
        for rep in range(2):
            t = time.perf_counter()
            futs = []
            for c in range(size // slot):
                dst = pinned[(c % 8) * slot:(c % 8 + 1) * slot]
                for a in range(0, slot, part_b):
                    futs.append(pool.submit(fill, c * slot + a, dst[a:a + part_b]))
                if len(futs) > 4 * threads:
                    futs.pop(0).result()
            for fu in futs:
                fu.result()
            dt = time.perf_counter() - t
        pool.shutdown()
        print(f"pread 2 GiB -> pinned, {threads:2d} threads: {size/dt/1e9:.1f} GB/s", flush=True)

    # cudaHostRegister of a read-only map (page cache pinned in place)
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    arr = np.frombuffer(mm, np.uint8)
    for chunk in (64 << 20, 256 << 20):
        try:
            t = time.perf_counter()
            ptr = arr.ctypes.data
            rt.hostRegister(ptr, chunk, 8)  # cudaHostRegisterReadOnly
            treg = time.perf_counter() - t
            t = time.perf_counter()
            rt.memcpy(dev.data.ptr, ptr, chunk, rt.memcpyHostToDevice)
            tcp = time.perf_counter() - t
            rt.hostUnregister(ptr)
            print(f"hostRegister(ReadOnly) of a {chunk>>20} MiB map: register {treg*1e3:.1f} ms "
                  f"({chunk/treg/1e9:.1f} GB/s), copy {chunk/tcp/1e9:.1f} GB/s", flush=True)
        except Exception as e:
            print(f"hostRegister(ReadOnly) of a map failed: {type(e).__name__}: {e}", flush=True)
    del arr
    mm.close()
    os.close(fd)
    os.unlink(path)

if part in ("all", "register"):
    # Page-cache pages pinned in place by cudaHostRegister (read-only), in parallel.
    rt = cp.cuda.runtime
    path, size = page_cached_file("cq_probe2.bin")
    dev = cp.empty(size, cp.uint8)
    fd = os.open(path, os.O_RDONLY)
    for populate in (False, True):
        for chunk in (32 << 20, 128 << 20):
            for threads in (1, 2, 4, 8):
                flags = mmap.MAP_SHARED | (mmap.MAP_POPULATE if populate else 0)
                t0 = time.perf_counter()
                mm = mmap.mmap(fd, size, flags=flags, prot=mmap.PROT_READ)
                arr = np.frombuffer(mm, np.uint8)
                base = arr.ctypes.data
                tmap = time.perf_counter() - t0
                pool = ThreadPoolExecutor(threads)
                offs = list(range(0, size, chunk))
                t = time.perf_counter()
                list(pool.map(lambda o: rt.hostRegister(base + o, chunk, 8), offs))
                treg = time.perf_counter() - t
                t = time.perf_counter()
                s = cp.cuda.Stream(non_blocking=True)
                for o in offs:
                    rt.memcpyAsync(dev.data.ptr + o, base + o, chunk, rt.memcpyHostToDevice, s.ptr)
                s.synchronize()
                tcp = time.perf_counter() - t
                t = time.perf_counter()
                list(pool.map(lambda o: rt.hostUnregister(base + o), offs))
                tun = time.perf_counter() - t
                pool.shutdown()
                # pipelined: threads register chunk k while chunk k-1 copies; unregister after
                pool = ThreadPoolExecutor(threads)
                t = time.perf_counter()
                futs = [pool.submit(rt.hostRegister, base + o, chunk, 8) for o in offs]
                evs = []
                for o, fu in zip(offs, futs):
                    fu.result()
                    rt.memcpyAsync(dev.data.ptr + o, base + o, chunk, rt.memcpyHostToDevice, s.ptr)
                    ev = cp.cuda.Event(disable_timing=True); ev.record(s); evs.append((ev, o))
                    while len(evs) > 4:
                        e, oo = evs.pop(0); e.synchronize(); pool.submit(rt.hostUnregister, base + oo)
                for e, oo in evs:
                    e.synchronize(); pool.submit(rt.hostUnregister, base + oo)
                pool.shutdown(wait=True)
                tpipe = time.perf_counter() - t
                ok = bool((dev[:4096].get() == arr[:4096]).all() and (dev[-4096:].get() == arr[-4096:]).all())
                del arr
                mm.close()
                print(f"populate={populate!s:5s} chunk {chunk>>20:3d} MiB threads {threads}: map {tmap*1e3:6.1f} ms, "
                      f"register {size/treg/1e9:5.1f} GB/s, copy {size/tcp/1e9:5.1f} GB/s, "
                      f"unregister {size/tun/1e9:6.1f} GB/s, pipelined {size/tpipe/1e9:5.1f} GB/s, ok={ok}",
                      flush=True)
    os.close(fd)
    os.unlink(path)

if part in ("all", "mmapcopy"):
    # Host fill from a (populated) read-only memory map: NumPy copies, threads.
    path, size = page_cached_file("cq_probe3.bin")
    pinned = cupyx.empty_pinned(256 << 20, np.uint8)
    pinned[:] = 1
    fd = os.open(path, os.O_RDONLY)
    for populate in (False, True):
        for threads in (4, 8, 12, 16):
            for rep in range(2):
                t0 = time.perf_counter()
                mm = mmap.mmap(fd, size, flags=mmap.MAP_SHARED | (mmap.MAP_POPULATE if populate else 0),
                               prot=mmap.PROT_READ)
                arr = np.frombuffer(mm, np.uint8)
                piece = 4 << 20
                pool = ThreadPoolExecutor(threads)
                list(pool.map(lambda o: np.copyto(pinned[o % (256 << 20):o % (256 << 20) + piece],
                                                  arr[o:o + piece]), range(0, size, piece)))
                dt = time.perf_counter() - t0
                pool.shutdown()
                del arr
                mm.close()
            print(f"mmap populate={populate!s:5s} copy 2 GiB -> pinned, {threads:2d} threads: "
                  f"{size/dt/1e9:.1f} GB/s (map + copy)", flush=True)
    os.close(fd)
    os.unlink(path)

if part == "ncu":
    n = 14336 * 4096
    for name, dt in (("Q4_0", "float16"), ("Q4_K", "float16"), ("Q5_K", "float16"), ("TQ1_0", "float16"),
                     ("Q4_K", "float32"), ("IQ4_XS", "float16")):
        fmt = FORMATS[name]
        raw = cp.asarray(sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0)))
        out = cp.empty(n, dt)
        fmt.dequant(raw, out=out)
        cp.cuda.Device().synchronize()
