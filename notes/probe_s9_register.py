"""Session 9 probe (device): can the GPU read a page-cached, memory-mapped file
directly once its pages are registered (cudaHostRegister, read-only), and how
fast are registration, the zero-copy reads and unregistration?

Prints one line per measurement. The loader's extra host copy (page cache ->
pinned slots) is what limits it today (issue 4); this decides whether a
register-and-read path can replace it.
"""
import mmap
import os
import threading
import time

import numpy as np
import cupy as cp

PATH = "/tmp/cq_register_probe.bin"
SIZE = 38 << 26   # 2432 MiB
RO, PORTABLE, MAPPED = 0x08, 0x01, 0x02

rt = cp.cuda.runtime
dev = cp.cuda.Device()
for attr in (113, 99, 91, 116):   # HostRegisterReadOnlySupported, HostRegisterSupported, CanUseHostPointer..., ?
    try:
        print(f"attr {attr} = {rt.deviceGetAttribute(attr, dev.id)}")
    except Exception as e:
        print(f"attr {attr}: {type(e).__name__} {e}")
print({k: v for k, v in dev.attributes.items() if "Host" in k or "Unified" in k or "Pageable" in k})

if not os.path.exists(PATH) or os.path.getsize(PATH) != SIZE:
    rng = np.random.default_rng(0)
    with open(PATH, "wb") as f:
        for _ in range(SIZE >> 26):
            f.write(rng.integers(0, 256, 1 << 26, dtype=np.uint8).tobytes())
with open(PATH, "rb") as f:   # into the page cache
    while f.read(1 << 26):
        pass

fd = os.open(PATH, os.O_RDONLY)
mm = mmap.mmap(fd, SIZE, prot=mmap.PROT_READ, flags=mmap.MAP_SHARED)
host = np.frombuffer(mm, dtype=np.uint8)
base = host.ctypes.data
print(f"mapping at {base:#x}, page aligned: {base % 4096 == 0}")

# A read kernel: every thread sums uint4 words (grid-stride), one atomic per block.
src = r"""
extern "C" __global__ void rd(const uint4* __restrict__ p, long long n, unsigned long long* out) {
    unsigned int acc = 0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        uint4 v = p[i]; acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x12345678u) atomicAdd(out, 1ull);
}"""
rd = cp.RawKernel(src, "rd")
sink = cp.zeros(1, cp.uint64)
sms = dev.attributes["MultiProcessorCount"]


def gpu_read(ptr, nbytes, stream=None):
    mem = cp.cuda.UnownedMemory(ptr, nbytes, host, device_id=dev.id)
    arr = cp.ndarray((nbytes // 16, 4), dtype=cp.uint32, memptr=cp.cuda.MemoryPointer(mem, 0))
    rd((sms * 8,), (256,), (arr, np.int64(nbytes // 16), sink), stream=stream)


def timed(fn):
    t = time.perf_counter(); r = fn(); return time.perf_counter() - t, r


for flags, label in ((RO, "readonly"), (RO | PORTABLE, "readonly|portable"), (0, "default")):
    try:
        t, _ = timed(lambda: rt.hostRegister(base, 64 << 20, flags))
        print(f"register 64 MiB flags={label}: {t*1e3:.2f} ms OK")
        t2, _ = timed(lambda: rt.hostUnregister(base))
        print(f"  unregister: {t2*1e3:.2f} ms")
    except Exception as e:
        print(f"register 64 MiB flags={label}: FAILED {type(e).__name__}: {e}")

flags = RO
for chunk in (64 << 20, 256 << 20, SIZE):
    regs, unregs = [], []
    for off in range(0, SIZE, chunk):
        n = min(chunk, SIZE - off)
        t, _ = timed(lambda: rt.hostRegister(base + off, n, flags)); regs.append(t)
    dev.synchronize()
    t0 = time.perf_counter(); gpu_read(base, SIZE); dev.synchronize(); tr = time.perf_counter() - t0
    t0 = time.perf_counter(); gpu_read(base, SIZE); dev.synchronize(); tr2 = time.perf_counter() - t0
    for off in range(0, SIZE, chunk):
        t, _ = timed(lambda: rt.hostUnregister(base + off)); unregs.append(t)
    print(f"chunk {chunk>>20} MiB: register total {sum(regs)*1e3:.1f} ms ({SIZE/sum(regs)/1e9:.1f} GB/s), "
          f"gpu read {tr*1e3:.1f} / {tr2*1e3:.1f} ms ({SIZE/tr2/1e9:.1f} GB/s), unregister total {sum(unregs)*1e3:.1f} ms")

# Registration from several threads at once (does the driver serialise it?).
for nthreads in (2, 4, 8):
    chunk = 64 << 20
    offs = list(range(0, SIZE, chunk))
    def work(k):
        for off in offs[k::nthreads]:
            rt.hostRegister(base + off, min(chunk, SIZE - off), flags)
    t0 = time.perf_counter()
    th = [threading.Thread(target=work, args=(k,)) for k in range(nthreads)]
    [x.start() for x in th]; [x.join() for x in th]
    t = time.perf_counter() - t0
    t0 = time.perf_counter()
    for off in offs:
        rt.hostUnregister(base + off)
    tu = time.perf_counter() - t0
    print(f"{nthreads} threads registering 64 MiB chunks: {t*1e3:.1f} ms ({SIZE/t/1e9:.1f} GB/s); unregister {tu*1e3:.1f} ms")

# Pipelined: a host thread registers chunk k+1.. while the GPU reads chunk k; unregister after.
for chunk, nthreads in ((64 << 20, 1), (64 << 20, 4), (128 << 20, 4), (256 << 20, 4)):
    offs = list(range(0, SIZE, chunk))
    done = [threading.Event() for _ in offs]
    def work(k):
        for i in range(k, len(offs), nthreads):
            rt.hostRegister(base + offs[i], min(chunk, SIZE - offs[i]), flags); done[i].set()
    stream = cp.cuda.Stream(non_blocking=True)
    t0 = time.perf_counter()
    th = [threading.Thread(target=work, args=(k,)) for k in range(nthreads)]
    [x.start() for x in th]
    for i, off in enumerate(offs):
        done[i].wait()
        gpu_read(base + off, min(chunk, SIZE - off), stream)
    stream.synchronize()
    t = time.perf_counter() - t0
    [x.join() for x in th]
    t0 = time.perf_counter()
    for off in offs:
        rt.hostUnregister(base + off)
    tu = time.perf_counter() - t0
    print(f"pipelined chunk {chunk>>20} MiB, {nthreads} register threads: {t*1e3:.1f} ms "
          f"({SIZE/t/1e9:.1f} GB/s) + unregister {tu*1e3:.1f} ms")

# The ceiling of the same run: pinned host -> device copy of SIZE bytes.
import cupyx
pin = cupyx.empty_pinned(SIZE, np.uint8)
pin[:] = 1
d = cp.empty(SIZE, cp.uint8)
for _ in range(2):
    t0 = time.perf_counter(); d.set(pin); dev.synchronize(); t = time.perf_counter() - t0
print(f"pinned H2D {SIZE>>20} MiB: {t*1e3:.1f} ms ({SIZE/t/1e9:.1f} GB/s)")
del pin, d
mm_ok = True
print("done")
