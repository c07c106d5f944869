"""A simulated multi-GPU CuPy for the GPU loader's host code, without a GPU.

``Sim(n_devices)`` gives a stand-in for the parts of CuPy that
cupyquant.gpu.loader, gpu.inplace and gpu.dequant use (devices, allocations,
pinned host buffers, streams, events, ``memcpyAsync``, kernel launches).
Installed with :func:`install`, ``load_gguf(..., device=N)`` runs its real
planning, host reading, path choice and dispatch; only the kernels are
emulated, with the formats' NumPy decoders. What it checks is the plumbing,
which no test without a GPU reached before and which no two-GPU machine has
run: which bytes go where, on which device and stream, in which order.

How it keeps the loader honest
------------------------------
* **Memory is real and bounded.** An allocation is a NumPy buffer whose
  address is its "device pointer", filled with random bytes (a piece never
  written shows up as wrong bits). Every copy and kernel argument range must
  lie inside one live allocation: on the current device, or pinned host
  memory (kernels read that only on devices that can, see ``reads_host``).
* **Devices are checked.** An operation's stream must belong to the current
  device; an event is recorded only on a stream of its own device; a kernel
  handle is launched only on the device it was loaded on.
* **Streams are asynchronous and late.** Nothing runs when it is queued. An
  operation runs only when the host waits for it (``Event.synchronize``,
  ``Stream.synchronize``, ``Device.synchronize``) or for something behind it
  (``wait_event``), at the last moment; with ``chaos`` > 0 other streams'
  ready operations are run in between at random. A missing event wait, a
  pinned buffer refilled before its copy ran, or an output read before its
  kernel shows up as wrong bits or a :class:`SimError`.
* **Frees are stream-ordered, as in CuPy's pool.** Device memory whose last
  array is dropped may still be used by work queued before that on the
  stream it was allocated under; anything else touching it is a use after
  free. Pinned memory dropped while queued work still reads it is one too.
* **The legacy null stream** (``get_current_stream()`` outside ``with
  stream``) runs at once, after every stream of its device has drained, as
  blocking streams and the legacy default stream do.

Emulated kernels are the dequantization kernels (``gpu.dequant.launch``): a
launch reads its blocks, decodes them with the format's NumPy decoder and
writes the output; with an in-place sync area (gpu/inplace.py) it reads all
of its input before it writes, the order that the real kernel's tile flags
guarantee.
"""

from __future__ import annotations

import bisect
import functools
import random
import threading
import types
import weakref
from collections import deque

import numpy as np

from cupyquant import FORMATS

_ALIGN = 256


class SimError(AssertionError):
    """Something a real GPU would fail on, or a race a real GPU could lose."""


class _Alloc:
    """One allocation: device memory of one device, or pinned host memory."""

    __slots__ = ("sim", "start", "nbytes", "device", "pinned", "buf", "stream", "freed", "persistent")

    def __init__(self, sim, buf: np.ndarray, nbytes: int, device: int | None, stream, persistent=False):
        self.sim, self.buf, self.nbytes = sim, buf, nbytes
        self.start = buf.__array_interface__["data"][0]
        self.device = device           # None: pinned host memory
        self.pinned = device is None
        self.stream = stream           # the stream it was allocated under (device memory)
        self.freed = None              # after the last array: the stream's count of queued ops then
        self.persistent = persistent   # a module's cached table: not counted as live load memory

    def __repr__(self):
        where = "pinned host" if self.pinned else f"GPU {self.device}"
        return f"<{self.nbytes} bytes of {where} at {self.start:#x}>"


class _Root:
    """Held by every array over one allocation: when the last goes, it is freed."""
    __slots__ = ("__weakref__",)


class _Op:
    __slots__ = ("what", "run", "wait", "touches")

    def __init__(self, what, run=None, wait=None, touches=()):
        self.what, self.run, self.wait, self.touches = what, run, wait, touches


class Sim:
    """The simulated machine: devices, memory, streams."""

    def __init__(self, n_devices: int = 2, *, seed: int = 0, chaos: float = 0.0, reads_host=True,
                 capacity=None):
        self.n_devices = n_devices
        self.rng = random.Random(seed)
        self.chaos = chaos
        # per device: kernels may read pinned host memory through its host pointer
        self.reads_host = [reads_host] * n_devices if isinstance(reads_host, bool) else list(reads_host)
        self.capacity = capacity or {}          # device -> bytes it may hold at once
        self._starts, self._allocs = [], []     # sorted by start address
        self._tls = threading.local()
        self.null = [SimStream(self, d, null=True) for d in range(n_devices)]
        self.streams = []                       # every non-null stream
        self._by_ptr = {}
        self.launches = []                      # (device, format, dtype, n_blocks, in_place)
        self.peak = {}                          # device -> most bytes live at once
        self.cp = _cupy_namespace(self)

    # ------------------------------------------------------------ devices
    @property
    def current(self) -> int:
        return getattr(self._tls, "device", 0)

    @current.setter
    def current(self, dev: int) -> None:
        self._tls.device = dev

    def stream_stack(self, dev: int) -> list:
        stacks = getattr(self._tls, "streams", None)
        if stacks is None:
            stacks = self._tls.streams = {}
        return stacks.setdefault(dev, [])

    def current_stream(self, dev: int | None = None):
        dev = self.current if dev is None else dev
        stack = self.stream_stack(dev)
        return stack[-1] if stack else self.null[dev]

    def stream_of(self, ptr: int):
        if ptr == 0:
            return self.null[self.current]
        if ptr not in self._by_ptr:
            raise SimError(f"no stream at {ptr:#x}")
        return self._by_ptr[ptr]

    # ------------------------------------------------------------- memory
    def _new(self, nbytes: int, device, stream=None, persistent=False) -> _Alloc:
        raw = np.empty(nbytes + _ALIGN, np.uint8)
        at = -raw.__array_interface__["data"][0] % _ALIGN
        buf = raw[at:at + nbytes]
        buf[...] = np.frombuffer(self.rng.randbytes(nbytes), np.uint8) if nbytes else 0
        alloc = _Alloc(self, buf, nbytes, device, stream, persistent)
        i = bisect.bisect(self._starts, alloc.start)
        self._starts.insert(i, alloc.start)
        self._allocs.insert(i, alloc)
        return alloc

    def device_array(self, shape, dtype, persistent=False) -> "SimArray":
        dev = self.current
        dtype = np.dtype(dtype)
        shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(s) for s in shape)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        cap = self.capacity.get(dev)
        if cap is not None and self.live_bytes(dev) + nbytes > cap:
            raise _OutOfMemoryError(f"simulated GPU {dev}: out of memory allocating {nbytes} bytes "
                                    f"({self.live_bytes(dev)} of {cap} in use)")
        stream = self.current_stream(dev)
        alloc = self._new(nbytes, dev, stream, persistent)
        self.peak[dev] = max(self.peak.get(dev, 0), self.live_bytes(dev))
        root = _Root()
        weakref.finalize(root, self._free_device, alloc)
        return SimArray(alloc.buf.view(dtype).reshape(shape), alloc, root)

    def _free_device(self, alloc: _Alloc) -> None:
        alloc.freed = alloc.stream.queued

    def pinned(self, shape, dtype=np.uint8) -> np.ndarray:
        """Pinned host memory (cupyx.empty_pinned): a NumPy array."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        alloc = self._new(nbytes, None)
        # An array over a memoryview of the memory is the base of every view
        # the caller makes of it (NumPy stops at a non-array base), so it lives
        # exactly as long as they do; the Sim keeps the memory itself.
        owner = np.frombuffer(memoryview(alloc.buf), np.uint8)
        weakref.finalize(owner, self._free_pinned, alloc)
        return owner.view(dtype).reshape(shape)

    def _free_pinned(self, alloc: _Alloc) -> None:
        alloc.freed = -1

    def find(self, ptr: int, nbytes: int, what: str) -> _Alloc:
        i = bisect.bisect(self._starts, ptr) - 1
        alloc = self._allocs[i] if i >= 0 else None
        if alloc is None or not (alloc.start <= ptr and ptr + nbytes <= alloc.start + alloc.nbytes):
            raise SimError(f"{what}: [{ptr:#x}, +{nbytes}) is not inside one allocation"
                           + (f" (nearest: {alloc})" if alloc is not None else ""))
        return alloc

    def view(self, alloc: _Alloc, ptr: int, nbytes: int) -> np.ndarray:
        at = ptr - alloc.start
        return alloc.buf[at:at + nbytes]

    def upload(self, host: np.ndarray, device: int) -> "SimArray":
        """A device copy of ``host`` on ``device`` (done at once, like cupy.asarray)."""
        prev, self.current = self.current, device
        try:
            arr = self.device_array(host.shape, host.dtype)
        finally:
            self.current = prev
        arr.a[...] = host
        return arr

    def live_bytes(self, dev: int) -> int:
        """Device bytes in arrays still referenced (cached tables excluded)."""
        return sum(a.nbytes for a in self._allocs
                   if a.device == dev and a.freed is None and not a.persistent)

    def live_pinned_bytes(self) -> int:
        return sum(a.nbytes for a in self._allocs if a.pinned and a.freed is None)

    # ------------------------------------------------------------ streams
    def enqueue(self, stream, op: _Op, any_device: bool = False) -> None:
        if not any_device and stream.device != self.current:
            raise SimError(f"{op.what}: stream of GPU {stream.device} used while GPU {self.current} "
                           f"is current")
        if stream.is_null:
            self.drain(stream.device)      # the legacy default stream waits for every blocking stream
            if op.wait is not None:
                self.advance(*op.wait)
            self._execute(stream, op)
            stream.queued += 1
            stream.done += 1
            return
        stream.queue.append(op)
        stream.queued += 1

    def drain(self, dev: int | None = None) -> None:
        for s in list(self.streams):
            if dev is None or s.device == dev:
                self.advance(s, s.queued)

    def pending(self) -> int:
        return sum(len(s.queue) for s in self.streams)

    def advance(self, stream, n: int, depth: int = 0) -> None:
        """Run ``stream``'s operations until ``n`` of them are done (and only
        what they wait for, plus other streams' ready work under chaos)."""
        if depth > 10_000:
            raise SimError("event waits nest too deep")
        while stream.done < n:
            op = stream.queue[0]
            if op.wait is not None and op.wait[0].done < op.wait[1]:
                self.advance(op.wait[0], op.wait[1], depth + 1)
                continue
            if self.chaos and self.rng.random() < self.chaos:
                self._step_other(stream)
                continue
            self._pop(stream)

    def _step_other(self, avoid) -> None:
        ready = [s for s in self.streams if s is not avoid and s.queue
                 and (s.queue[0].wait is None or s.queue[0].wait[0].done >= s.queue[0].wait[1])]
        if ready:
            self._pop(self.rng.choice(ready))

    def _pop(self, stream) -> None:
        op = stream.queue.popleft()
        try:
            self._execute(stream, op)
        finally:
            stream.done += 1

    def _execute(self, stream, op: _Op) -> None:
        seq = stream.done
        for alloc in op.touches:
            if alloc.pinned and alloc.freed is not None:
                raise SimError(f"{op.what}: reads pinned memory {alloc} that was freed after it was queued")
            if not alloc.pinned and alloc.freed is not None and (alloc.stream is not stream
                                                                 or seq >= alloc.freed):
                raise SimError(f"{op.what} (stream {stream.ptr:#x}) uses {alloc} after it was freed "
                               f"(on stream {alloc.stream.ptr:#x})")
        if op.run is not None:
            op.run()

    # ------------------------------------------------------ operations
    def memcpy(self, dst: int, src: int, n: int, kind: int, stream_ptr: int) -> None:
        stream = self.stream_of(stream_ptr)
        if n == 0:
            return
        dev = self.current
        d = self.find(dst, n, "memcpyAsync destination")
        s = self.find(src, n, "memcpyAsync source")
        if kind == _H2D and not (s.pinned and not d.pinned):
            raise SimError(f"memcpyHostToDevice from {s} to {d}")
        if kind == _D2D and (s.pinned or d.pinned):
            raise SimError(f"memcpyDeviceToDevice from {s} to {d}")
        for a in (d, s):
            if not a.pinned and a.device != dev:
                raise SimError(f"memcpyAsync on GPU {dev} touches {a}")
        if d is s and abs(dst - src) < n:
            raise SimError("memcpyAsync between overlapping ranges")
        dview, sview = self.view(d, dst, n), self.view(s, src, n)

        def run():
            dview[...] = sview
        self.enqueue(stream, _Op(f"memcpyAsync of {n} bytes", run, touches=(d, s)))

    def launch(self, kern, grid, block, args, *, stream=None, pdl=False, **kw) -> None:
        """gpu.dequant.launch for the dequantization kernels."""
        dev = self.current
        if kern.device != dev:
            raise SimError(f"{kern.name} was loaded on GPU {kern.device}, launched on GPU {dev}")
        stream = self.current_stream() if stream is None else stream
        src, dst, n_elems, _table, _ahead, sync = (int(a) for a in args)
        fmt, dtype = kern.fmt, kern.dtype
        if n_elems % fmt.block_size:
            raise SimError(f"{kern.name}: {n_elems} elements are not whole blocks")
        n_blocks = n_elems // fmt.block_size
        in_bytes, out_bytes = n_blocks * fmt.type_size, n_elems * dtype.itemsize
        s = self.find(src, in_bytes, f"{kern.name} input")
        d = self.find(dst, out_bytes, f"{kern.name} output")
        if s.pinned and not self.reads_host[dev]:
            raise SimError(f"{kern.name} on GPU {dev} reads pinned host memory, which it cannot")
        if not s.pinned and s.device != dev or d.pinned or d.device != dev:
            raise SimError(f"{kern.name} on GPU {dev}: input {s}, output {d}")
        touches = [s, d]
        if sync:
            touches.append(self.find(sync, 4, f"{kern.name} sync area"))
            if touches[-1].device != dev:
                raise SimError(f"{kern.name} on GPU {dev}: sync area {touches[-1]}")
        elif s is d and src < dst + out_bytes and dst < src + in_bytes:
            raise SimError(f"{kern.name}: input and output overlap without the in-place schedule")
        sview, dview = self.view(s, src, in_bytes), self.view(d, dst, out_bytes)

        def run():
            values = fmt.dequant(sview.copy(), dtype=dtype)   # all input read, then written
            dview[...] = values.reshape(-1).view(np.uint8)
        self.enqueue(stream, _Op(f"{kern.name} of {n_blocks} blocks", run, touches=tuple(touches)))
        self.launches.append((dev, fmt.name, dtype.name, n_blocks, bool(sync)))


_H2D, _D2D = 1, 3


class _OutOfMemoryError(MemoryError):
    """As cupy.cuda.memory.OutOfMemoryError (a MemoryError)."""


class NumPyBacked:
    """Where host code looks at a CuPy array: a NumPy array underneath
    (``.a``), its address as ``.data.ptr``. Subclasses say what a view of it
    is (``_wrap``) and where it lives (``device``)."""

    def __init__(self, a: np.ndarray):
        self.a = a

    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    ndim = property(lambda self: self.a.ndim)
    size = property(lambda self: self.a.size)
    nbytes = property(lambda self: self.a.nbytes)
    itemsize = property(lambda self: self.a.itemsize)
    strides = property(lambda self: self.a.strides)
    flags = property(lambda self: self.a.flags)
    data = property(lambda self: types.SimpleNamespace(ptr=self.a.__array_interface__["data"][0]))

    def _wrap(self, a: np.ndarray):
        raise NotImplementedError

    def reshape(self, *shape):
        return self._wrap(self.a.reshape(*shape))

    def view(self, dtype):
        return self._wrap(self.a.view(dtype))

    def __getitem__(self, index):
        return self._wrap(self.a[index])


class SimArray(NumPyBacked):
    """A device array of the Sim: a view of one of its allocations."""

    # cupyquant tells CuPy arrays by their type's module (formats/base.py)
    __module__ = "cupy (simulated: tests/gpu_sim.py)"

    def __init__(self, a: np.ndarray, alloc: _Alloc, root):
        super().__init__(a)
        self._alloc, self._root = alloc, root

    def _wrap(self, a):
        return SimArray(a, self._alloc, self._root)

    @property
    def device(self):
        return self._alloc.sim.cp.cuda.Device(self._alloc.device)


class SimStream:
    """A stream of one device: a queue of operations that run only when
    something waits for them (see Sim.advance); ``null``: the device's legacy
    default stream, whose operations run at once."""

    def __init__(self, sim: Sim, device: int, null: bool = False):
        self.sim, self.device, self.is_null = sim, device, null
        self.queue = deque()
        self.queued = self.done = 0
        self.ptr = 0 if null else 0x5000 + 0x10 * len(sim.streams)
        if not null:
            sim.streams.append(self)
            sim._by_ptr[self.ptr] = self

    def synchronize(self) -> None:
        self.sim.advance(self, self.queued)

    def is_capturing(self) -> bool:
        return False

    def wait_event(self, event) -> None:
        if event.target is None:
            return        # never recorded: nothing to wait for, as in CUDA
        # cudaStreamWaitEvent: the event may be of another device, and so may the current one
        self.sim.enqueue(self, _Op("wait_event", wait=event.target), any_device=True)

    def __enter__(self):
        self.sim.stream_stack(self.device).append(self)
        return self

    def __exit__(self, *exc):
        self.sim.stream_stack(self.device).pop()
        return False


def _cupy_namespace(sim: Sim):
    """The ``cupy`` stand-in of one Sim."""

    class Device:
        def __init__(self, device=None):
            self.id = sim.current if device is None else int(device)
            if not 0 <= self.id < sim.n_devices:
                raise SimError(f"no GPU {self.id}")
            self._prev = []

        def __enter__(self):
            self._prev.append(sim.current)
            sim.current = self.id
            return self

        def __exit__(self, *exc):
            sim.current = self._prev.pop()
            return False

        @property
        def attributes(self):
            reads = sim.reads_host[self.id]
            return {"UnifiedAddressing": 1, "CanMapHostMemory": int(reads),
                    "CanUseHostPointerForRegisteredMem": int(reads)}

        def synchronize(self):
            sim.drain(self.id)

    class Stream(SimStream):
        def __init__(self, non_blocking=False):
            super().__init__(sim, sim.current)

    class Event:
        def __init__(self, disable_timing=False, **kw):
            self.device = sim.current
            self.target = None

        def record(self, stream=None):
            stream = sim.current_stream() if stream is None else stream
            if stream.device != self.device:
                raise SimError(f"event of GPU {self.device} recorded on a stream of GPU {stream.device}")
            self.target = (stream, stream.queued)

        def synchronize(self):
            if self.target is not None:
                sim.advance(*self.target)

        @property
        def done(self):
            return self.target is None or self.target[0].done >= self.target[1]

    class UnownedMemory:
        def __init__(self, ptr, size, owner, device_id=None):
            self.ptr, self.size, self.owner, self.device_id = int(ptr), int(size), owner, device_id

    class MemoryPointer:
        def __init__(self, mem, offset):
            self.mem, self.ptr = mem, mem.ptr + offset

    def ndarray(shape, dtype=np.uint8, memptr=None):
        """Only the zero-copy view of pinned memory (loader.pinned_view_on_device)."""
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        alloc = sim.find(memptr.ptr, nbytes, "cupy.ndarray(memptr=...)")
        if not alloc.pinned:
            raise SimError("the loader only wraps pinned host memory")
        return SimArray(sim.view(alloc, memptr.ptr, nbytes).view(dtype).reshape(shape), alloc, memptr.mem)

    class _NDArrayMeta(type):
        def __instancecheck__(cls, obj):
            return isinstance(obj, SimArray)

    class NDArray(metaclass=_NDArrayMeta):
        """cupy.ndarray: isinstance() holds for SimArray; calling it wraps pinned memory."""
        def __new__(cls, shape, dtype=np.uint8, memptr=None):
            return ndarray(shape, dtype, memptr)

    def empty(shape, dtype=np.float32):
        return sim.device_array(shape, dtype)

    def zeros(shape, dtype=np.float32):
        arr = empty(shape, dtype)
        arr.a[...] = 0
        return arr

    def array(src, order="C", copy=True):
        """A contiguous device copy on the current device (of a device array
        of this Sim, whose queued work must be done)."""
        if sim.pending():
            raise SimError("cupy.array of device data while work is queued")
        arr = empty(src.shape, src.dtype)
        arr.a[...] = src.a
        return arr

    def asnumpy(arr):
        if sim.pending():
            raise SimError(f"asnumpy while {sim.pending()} operations are still queued")
        if arr._alloc.freed is not None:
            raise SimError("asnumpy of freed memory")
        return arr.a.copy()

    class CUDARuntimeError(RuntimeError):
        def __init__(self, status):
            super().__init__(f"simulated CUDA error {status}")
            self.status = status

    runtime = types.SimpleNamespace(
        getDeviceCount=lambda: sim.n_devices, getDevice=lambda: sim.current,
        getDeviceProperties=lambda dev: {}, memcpyAsync=sim.memcpy,
        memcpyHostToDevice=_H2D, memcpyDeviceToDevice=_D2D, CUDARuntimeError=CUDARuntimeError,
        is_hip=False)
    cuda = types.SimpleNamespace(
        Device=Device, Stream=Stream, Event=Event, UnownedMemory=UnownedMemory, MemoryPointer=MemoryPointer,
        get_current_stream=lambda device_id=None: sim.current_stream(device_id), runtime=runtime)
    return types.SimpleNamespace(
        ndarray=NDArray, dtype=np.dtype, uint8=np.uint8, uint16=np.uint16, uint32=np.uint32, int32=np.int32,
        int64=np.int64, float16=np.float16, float32=np.float32, empty=empty, zeros=zeros, array=array,
        asnumpy=asnumpy, cuda=cuda)


class SimKernel:
    """A dequantization kernel handle, loaded on one device."""

    def __init__(self, fmt, dtype, device: int, name: str):
        self.fmt, self.dtype, self.device, self.name = fmt, np.dtype(dtype), device, name


def install(monkeypatch, sim: Sim) -> None:
    """Point cupyquant's GPU loader, in-place and dequantization modules at ``sim``."""
    from cupyquant.gpu import dequant, inplace, loader, platform

    cp = sim.cp

    def get_function(key, source, name):
        fmt = FORMATS[key.split(":", 1)[1]]
        dtype = next(dt for dt in ("float32", "float16") if fmt.kernel_name(dt) == name)
        return SimKernel(fmt, dtype, sim.current, name)

    tables = {}

    def device_table(name, make):
        key = (name, sim.current)
        if key not in tables:   # cached per device, as the real module's tables are
            tables[key] = sim.device_array((max(1, np.asarray(make()).nbytes),), np.uint8, persistent=True)
        return tables[key]

    for module in (loader, inplace, dequant):
        monkeypatch.setattr(module, "cupy_module", lambda: cp)
    monkeypatch.setattr(loader, "gpu_available", lambda: True)
    monkeypatch.setattr(platform, "gpu_available", lambda: True)   # load_gguf(device=None) asks it
    monkeypatch.setattr(loader, "_allocate_pinned", lambda n_slots, slot: sim.pinned((n_slots, slot)))
    monkeypatch.setattr(dequant, "get_function", get_function)
    monkeypatch.setattr(dequant, "device_table", device_table)
    monkeypatch.setattr(dequant, "device_info", lambda dev: {"sm_count": 4, "l2_bytes": 1 << 20})
    monkeypatch.setattr(dequant, "launch", sim.launch)
    # launchers are cached per format, dtype and device: a fresh cache for this Sim
    monkeypatch.setattr(dequant, "_launcher", functools.lru_cache(maxsize=None)(dequant._launcher.__wrapped__))
