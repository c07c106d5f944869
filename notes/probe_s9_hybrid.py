"""Session 9 probe (device): a page-cached 2.4 GB file to the GPU by two routes
at once, each on a fresh memory map (page tables not yet populated, as in a
real load):

* copy: host threads copy chunks out of the map into pinned slots, the GPU
  reads the slots (the loader's zero-copy path today);
* register: one thread registers chunks of the map itself (cudaHostRegister,
  read-only) and the GPU reads the page cache directly; a chunk is
  unregistered by the same thread once the GPU is done with it.

A chunk goes to whichever route is free. The GPU work is a plain read kernel
(the dequantization kernels read at the same bus speed). Prints the time of
each mode and the pinned host -> device copy of the same bytes.
"""
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np
import cupy as cp
import cupyx

PATH = "/tmp/cq_hybrid_probe.bin"
SIZE = 38 << 26
RO = 0x08
rt = cp.cuda.runtime
dev = cp.cuda.Device()
sms = dev.attributes["MultiProcessorCount"]

if not os.path.exists(PATH) or os.path.getsize(PATH) != SIZE:
    rng = np.random.default_rng(0)
    with open(PATH, "wb") as f:
        for _ in range(SIZE >> 26):
            f.write(rng.integers(0, 256, 1 << 26, dtype=np.uint8).tobytes())
with open(PATH, "rb") as f:
    while f.read(1 << 26):
        pass

rd = cp.RawKernel(r"""
extern "C" __global__ void rd(const uint4* __restrict__ p, long long n, unsigned long long* out) {
    unsigned int acc = 0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        uint4 v = p[i]; acc ^= v.x ^ v.y ^ v.z ^ v.w;
    }
    if (acc == 0x12345678u) atomicAdd(out, 1ull);
}""", "rd")
sink = cp.zeros(1, cp.uint64)


def gpu_read(ptr, nbytes, owner, stream):
    mem = cp.cuda.UnownedMemory(ptr, nbytes, owner, device_id=dev.id)
    arr = cp.ndarray((nbytes // 16, 4), dtype=cp.uint32, memptr=cp.cuda.MemoryPointer(mem, 0))
    rd((sms * 4,), (256,), (arr, np.int64(nbytes // 16), sink), stream=stream)


N_SLOTS, COPY_THREADS = 4, 8
pinned = cupyx.empty_pinned((N_SLOTS, 64 << 20), np.uint8)
pinned[:] = 0
copy_pool = ThreadPoolExecutor(COPY_THREADS)
reg_pool = ThreadPoolExecutor(1)


def run(mode, chunk=64 << 20, reg_chunk=64 << 20, max_reg_ahead=2, populate=False):
    mm = np.memmap(PATH, dtype=np.uint8, mode="r")
    base = mm.ctypes.data
    todo = []
    off = 0
    while off < SIZE:
        todo.append(off)
        off += chunk
    streams = [cp.cuda.Stream(non_blocking=True) for _ in range(N_SLOTS + 4)]
    slot_free = [None] * N_SLOTS
    free_slots = list(range(N_SLOTS))
    pending = {}            # future -> (kind, off, n, slot)
    registered = []         # (off, event) waiting to be unregistered
    n_reg = n_copy = 0
    t0 = time.perf_counter()
    i = 0
    si = 0

    def register(o, n):
        if populate:
            mm[o:o + n:4096].max()   # touch one byte a page (fault-around maps the rest)
        rt.hostRegister(base + o, n, RO)

    lock = threading.Lock()

    def unregister_done(force=False):
        with lock:
            items = list(registered)
        gone = []
        for item in items:
            o, ev = item
            if force:
                ev.synchronize()
            if force or ev.done:
                rt.hostUnregister(base + o)
                gone.append(item)
        with lock:
            for item in gone:
                registered.remove(item)

    while i < len(todo) or pending:
        # Start work on free routes.
        while i < len(todo):
            o = todo[i]; n = min(chunk, SIZE - o)
            n_reg_inflight = sum(1 for v in pending.values() if v[0] == "reg")
            if mode in ("reg", "hybrid") and n_reg_inflight < max_reg_ahead:
                f = reg_pool.submit(register, o, n)
                pending[f] = ("reg", o, n, None); i += 1; n_reg += 1
                continue
            if mode in ("copy", "hybrid") and free_slots:
                slot = free_slots.pop(0)
                if slot_free[slot] is not None:
                    slot_free[slot].synchronize()
                part = 8 << 20
                futs = [copy_pool.submit(np.copyto, pinned[slot, a:min(a + part, n)], mm[o + a:o + min(a + part, n)])
                        for a in range(0, n, part)]
                agg = futs[-1]
                pending[agg] = ("copy", o, n, (slot, futs)); i += 1; n_copy += 1
                continue
            break
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for f in done:
            kind, o, n, extra = pending.pop(f)
            if kind == "copy":
                slot, futs = extra
                for x in futs:
                    x.result()
                s = streams[slot]
                gpu_read(pinned[slot].ctypes.data, n, pinned, s)
                ev = cp.cuda.Event(disable_timing=True); ev.record(s)
                slot_free[slot] = ev
                free_slots.append(slot)
            else:
                f.result()
                s = streams[N_SLOTS + (si % 4)]; si += 1
                gpu_read(base + o, n, mm, s)
                ev = cp.cuda.Event(disable_timing=True); ev.record(s)
                with lock:
                    registered.append((o, ev))
                reg_pool.submit(unregister_done)
    for s in streams:
        s.synchronize()
    t_gpu = time.perf_counter() - t0
    reg_pool.submit(unregister_done, True).result()
    t_all = time.perf_counter() - t0
    del mm
    return t_gpu, t_all, n_reg, n_copy


d = cp.empty(SIZE, cp.uint8)
pin_all = cupyx.empty_pinned(SIZE, np.uint8); pin_all[:] = 1
t = []
for _ in range(3):
    t0 = time.perf_counter(); d.set(pin_all); dev.synchronize(); t.append(time.perf_counter() - t0)
h2d = min(t)
print(f"pinned H2D {SIZE >> 20} MiB: {h2d*1e3:.1f} ms ({SIZE/h2d/1e9:.1f} GB/s)", flush=True)
del d, pin_all

configs = [("copy", {}), ("reg", {}), ("hybrid", {}), ("hybrid", {"max_reg_ahead": 1}),
           ("hybrid", {"populate": True}), ("hybrid", {"chunk": 32 << 20}), ("copy", {}), ("hybrid", {})]
for mode, kw in configs:
    res = []
    for _ in range(3):
        res.append(run(mode, **kw))
    best = min(res, key=lambda r: r[1])
    print(f"{mode:7s} {kw}: gpu done {best[0]*1e3:.1f} ms, all unregistered {best[1]*1e3:.1f} ms "
          f"(ratio {best[0]/h2d:.2f} / {best[1]/h2d:.2f}); chunks reg {best[2]} copy {best[3]}; "
          f"all runs {[round(r[1]*1e3, 1) for r in res]}", flush=True)
os.remove(PATH)
