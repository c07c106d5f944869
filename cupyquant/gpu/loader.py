"""``load_gguf`` onto the GPU: quantized bytes host -> device, dequantized there.

:func:`load_to_gpu` is called by :func:`cupyquant.load_gguf` for a GPU device
with the opened :class:`~cupyquant.gguf_file.GGUFFile` objects (several for a
split model). The host never holds a dequantized value.

How the bytes travel
--------------------
1. *Plan.* Every tensor is cut into pieces of whole blocks and the pieces are
   grouped, in file order, into **chunks**: a contiguous byte range of one file,
   for one device, at most ``SLOT_BYTES`` long (small tensors share a chunk, a
   large tensor spans several). The chunk start is rounded down to 256 bytes,
   so every piece keeps the file's alignment in the staging buffers.
2. *Host.* ``N_SLOTS`` pinned staging buffers of ``SLOT_BYTES`` are reused in
   turn. A chunk's bytes go from the page cache into its pinned buffer by
   ``HOST_THREADS`` threads at once (``os.preadv`` straight from the file, or a
   NumPy copy out of a memory map, see ``READ_METHOD`` and the environment
   variable ``CUPYQUANT_LOAD_READ``; both release the GIL). ``LOOKAHEAD``
   chunks are being filled while earlier ones are on the bus.
3. *Device.* Slot ``k`` has, on each device, its own stream and its own device
   staging area. A chunk is copied host -> device asynchronously in one piece,
   an event is recorded after the copy, and each piece is then dequantized by
   ``launch_dequant`` straight into its slice of the output (or, for tensors
   kept quantized and for F32 -> float32, F16 -> float16, BF16 -> bfloat16,
   copied device -> device into place) on the same stream.
4. *Synchronisation.* Before a pinned buffer is refilled the host waits for the
   event recorded after its last copy. A device staging area is only ever used
   by the stream of its slot, so a new copy into it is queued after the kernels
   that read the previous chunk (stream order). The streams wait for an event
   recorded on the caller's current stream after the outputs were allocated,
   and every stream is synchronised before ``load_to_gpu`` returns: the arrays
   it returns are complete for any stream.

Memory bounds (exact, with the defaults)
----------------------------------------
* Host, beyond the file's page cache: ``N_SLOTS * slot`` bytes of pinned memory
  (``slot = min(SLOT_BYTES, largest chunk rounded up to 1 MiB)``; 4 x 32 MiB =
  128 MiB at most), taken from CuPy's pinned memory pool (so a second load
  reuses them) plus the small planning objects. With ``READ_METHOD = "mmap"``
  the mapped file pages also count in the process RSS (they are page cache).
* Device, beyond the outputs: on each device one staging allocation of
  ``N_SLOTS * slot`` bytes (128 MiB at most, 32 MiB per stream), released to
  CuPy's memory pool when the load ends, plus the formats' constant tables
  (a few KiB, kept for later launches) and one block-sized warm-up launch per
  format and dtype.

Failures
--------
Any exception midway (unreadable file, out of memory, a kernel error,
``KeyboardInterrupt``) waits for the host threads, synchronises the streams and
drops every device array taken so far before it propagates, so the memory
pool's used bytes are back where they were (the locals of the finished frames
in the exception's traceback are cleared, so a caller holding the exception
does not keep them alive). Running out of device memory is
re-raised as ``MemoryError`` naming the tensor; file problems are
:class:`~cupyquant.errors.GGUFError`.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections import deque
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from ..errors import GGUFError
from .dequant import launch_dequant, output_dtype
from .platform import cupy_module, gpu_available

#: Bytes of one staging slot (pinned host buffer and device staging area).
SLOT_BYTES = 32 << 20
#: Number of slots: pinned buffers, and streams + device staging areas per device.
N_SLOTS = 4
#: Chunks being filled on the host while earlier ones are copied (< N_SLOTS).
LOOKAHEAD = 2
#: Host threads copying file bytes into the pinned buffers.
HOST_THREADS = max(1, min(8, os.cpu_count() or 1))  # 8 measured faster than 16 on the H100 host (66.9 vs 94.9 ms for 2.4 GB)
#: "pread": os.preadv from the file into pinned memory (no page faults on a
#: mapping); "mmap": NumPy copy out of a read-only memory map of the file.
READ_METHOD = os.environ.get("CUPYQUANT_LOAD_READ") or ("pread" if hasattr(os, "preadv") else "mmap")

_ALIGN = 256              # chunk starts are rounded down to this (file alignment kept)
_MAX_GAP = 1 << 16        # a gap larger than this between two tensors starts a new chunk
_MIN_PART = 1 << 20       # smallest piece of a chunk one host thread copies
_UNIT_ELEMS = 4096        # large tensors are split at multiples of this many elements

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _host_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool._max_workers != HOST_THREADS:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(HOST_THREADS, thread_name_prefix="cupyquant-load")
        return _pool


# ---------------------------------------------------------------- arguments
def _device_id(cp, device, n_devices: int) -> int:
    """A device id from None (the current device), an int, a cupy Device or
    "cuda"/"cuda:N"/"gpu"/"gpu:N"."""
    if device is None:
        dev = cp.cuda.Device().id
    elif isinstance(device, cp.cuda.Device):
        dev = device.id
    elif isinstance(device, str):
        kind, _, num = device.strip().lower().partition(":")
        if kind not in ("cuda", "gpu", "hip", "rocm") or (num and not num.isdigit()):
            raise ValueError(f"device must be None, a GPU id or 'cuda:N', got {device!r}")
        dev = int(num) if num else cp.cuda.Device().id
    elif isinstance(device, (int, np.integer)) and not isinstance(device, bool):
        dev = int(device)
    else:
        raise TypeError(f"device must be None, a GPU id or 'cuda:N', got {device!r}")
    if not 0 <= dev < n_devices:
        raise ValueError(f"GPU {dev} does not exist ({n_devices} visible)")
    return dev


def _unit_bytes(fmt) -> int:
    """Bytes of the smallest piece a large tensor is cut at (whole blocks,
    about _UNIT_ELEMS elements, so output slices stay aligned)."""
    return max(1, _UNIT_ELEMS // fmt.block_size) * fmt.type_size


# ------------------------------------------------------------------ planning
class _Job:
    """One tensor: where its bytes are and where they go."""

    __slots__ = ("name", "info", "fmt", "file_index", "device", "keep", "dtype", "direct",
                 "out", "dst")

    def __init__(self, name, info, fmt, file_index):
        self.name, self.info, self.fmt, self.file_index = name, info, fmt, file_index
        self.device = None
        self.keep = False      # stays quantized (QuantizedTensor)
        self.dtype = None      # output dtype (None when kept quantized)
        self.direct = False    # bytes copied as they are, no kernel (kept, or same float type)
        self.out = None        # the result array (uint8 raw bytes when kept)
        self.dst = None        # flat view written by the pieces

    @property
    def out_nbytes(self) -> int:
        if self.keep:
            return int(self.info.nbytes)
        return int(self.info.n_elements) * self.dtype.itemsize


class _Chunk:
    """A contiguous byte range [start, end) of one file for one device."""

    __slots__ = ("file_index", "device", "start", "end", "pieces", "payload")

    def __init__(self, file_index, device, start):
        self.file_index, self.device = file_index, device
        self.start = self.end = start
        self.pieces = []       # (job, byte offset in the tensor, nbytes, offset in the chunk)
        self.payload = 0


def plan_chunks(jobs, slot_bytes: int) -> list:
    """Group the jobs' bytes (jobs in file order) into chunks of at most
    ``slot_bytes`` bytes; a tensor larger than the room left is cut at whole
    units (see _unit_bytes)."""
    chunks = []
    cur = None
    for job in jobs:
        unit = _unit_bytes(job.fmt)
        if slot_bytes < unit + _ALIGN:
            raise ValueError(f"staging slot of {slot_bytes} bytes is too small for "
                             f"{job.fmt.name} (needs {unit + _ALIGN})")
        total, base, pos = int(job.info.nbytes), int(job.info.offset), 0
        while pos < total:
            start, left = base + pos, total - pos
            n = 0
            if (cur is not None and cur.file_index == job.file_index and cur.device == job.device
                    and cur.end <= start <= cur.end + _MAX_GAP):
                room = cur.start + slot_bytes - start
                n = left if left <= room else max(0, room) // unit * unit
            if n == 0:
                cur = _Chunk(job.file_index, job.device, start - start % _ALIGN)
                chunks.append(cur)
                room = cur.start + slot_bytes - start
                n = left if left <= room else room // unit * unit
            cur.pieces.append((job, pos, n, start - cur.start))
            cur.end = start + n
            cur.payload += n
            pos += n
    return chunks


def auto_device_map(sizes, n_devices: int) -> list:
    """Device of each tensor (sizes in file order): contiguous runs, about
    equal bytes per device (a tensor goes where its middle byte falls)."""
    total = sum(sizes)
    if n_devices <= 1 or total == 0:
        return [0] * len(sizes)
    devs, before = [], 0
    for s in sizes:
        devs.append(min(n_devices - 1, int((before + s / 2) * n_devices // total)))
        before += s
    return devs


# ----------------------------------------------------------------- host side
class _Reader:
    """Copies file byte ranges into (pinned) host arrays, from several threads."""

    def __init__(self, paths, method: str):
        if method not in ("pread", "mmap"):
            raise ValueError(f"READ_METHOD must be 'pread' or 'mmap', got {method!r}")
        self.method = method
        self.paths = list(paths)
        self.fds, self.maps, self.sizes = [], [], []
        try:
            for p in self.paths:
                fd = os.open(p, os.O_RDONLY | getattr(os, "O_BINARY", 0))
                self.fds.append(fd)
                size = os.fstat(fd).st_size
                self.sizes.append(size)
                if method == "mmap":
                    self.maps.append(np.memmap(p, dtype=np.uint8, mode="r") if size else
                                     np.empty(0, np.uint8))
        except OSError as e:
            self.close()
            raise GGUFError(f"cannot open: {e.strerror or e}", path=e.filename) from e

    def read_into(self, file_index: int, offset: int, dst: np.ndarray) -> None:
        n = dst.size
        path = self.paths[file_index]
        if self.method == "mmap":
            src = self.maps[file_index][offset:offset + n]
            if src.size != n:
                raise GGUFError("unexpected end of file", path=path, offset=offset + src.size)
            np.copyto(dst, src)
            return
        view, done = memoryview(dst), 0
        try:
            while done < n:
                got = os.preadv(self.fds[file_index], [view[done:]], offset + done)
                if got <= 0:
                    raise GGUFError("unexpected end of file", path=path, offset=offset + done)
                done += got
        except OSError as e:
            raise GGUFError(f"read failed: {e.strerror or e}", path=path, offset=offset + done) from e
        finally:
            view.release()

    def submit(self, chunk, dst: np.ndarray) -> list:
        """Futures copying the chunk's byte range into ``dst[:span]``."""
        span = chunk.end - chunk.start
        part = max(_MIN_PART, -(-span // HOST_THREADS))
        part = -(-part // 65536) * 65536
        pool = _host_pool()
        return [pool.submit(self.read_into, chunk.file_index, chunk.start + a,
                            dst[a:min(a + part, span)])
                for a in range(0, span, part)]

    def close(self) -> None:
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []
        self.maps = []  # the memory maps close when the last view is gone


# -------------------------------------------------------------- the pipeline
class _Load:
    """State of one load; ``abort()`` releases everything it holds."""

    def __init__(self, cp, jobs, chunks, reader, bar):
        self.cp, self.jobs, self.chunks, self.reader, self.bar = cp, jobs, chunks, reader, bar
        self.current = None         # name of the tensor being worked on (for messages)
        self.streams = {}           # device -> [stream per slot]
        self.staging = {}           # device -> [device uint8 array per slot]
        self.pinned = []            # pinned uint8 array per slot
        self.copied = []            # event recorded after each slot's last host -> device copy
        self.pending = deque()      # (chunk, slot, futures) filled but not yet dispatched
        self.futures = []           # every host future not known to be finished

    # ------------------------------------------------------------ setup
    def allocate_outputs(self) -> None:
        cp = self.cp
        for job in self.jobs:
            self.current = job.name
            with cp.cuda.Device(job.device):
                shape = tuple(int(s) for s in job.info.shape)
                if job.keep:
                    job.out = _allocate(cp, (int(job.info.nbytes),), cp.uint8)
                    job.dst = job.out
                else:
                    job.out = _allocate(cp, shape, job.dtype)
                    flat = job.out.reshape(-1)
                    job.dst = flat.view(cp.uint8) if job.direct else flat
        self.current = None

    def prepare_devices(self) -> int:
        """Compile the kernels, allocate staging and streams; the slot size."""
        cp = self.cp
        span = max((c.end - c.start for c in self.chunks), default=0)
        slot = min(SLOT_BYTES, -(-span // (1 << 20)) * (1 << 20))
        n_slots = max(1, min(N_SLOTS, len(self.chunks)))
        by_device = {}
        for job in self.jobs:
            by_device.setdefault(job.device, set())
            if not job.direct and job.info.nbytes:
                by_device[job.device].add((job.fmt, job.dtype))
        for dev in sorted(by_device):
            with cp.cuda.Device(dev):
                self.current = f"(kernel warm-up on GPU {dev})"
                for fmt, dtype in sorted(by_device[dev], key=lambda t: (t[0].name, t[1].name)):
                    raw = cp.zeros(fmt.type_size, cp.uint8)
                    launch_dequant(fmt, raw, cp.empty(fmt.block_size, dtype))
                cp.cuda.Device().synchronize()
                if not any(c.device == dev for c in self.chunks):
                    continue
                self.current = f"(staging buffers on GPU {dev})"
                area = _allocate(cp, (n_slots, slot), cp.uint8)
                self.staging[dev] = [area[k] for k in range(n_slots)]
                self.streams[dev] = [cp.cuda.Stream(non_blocking=False) for _ in range(n_slots)]
                ready = cp.cuda.Event(disable_timing=True)
                ready.record(cp.cuda.get_current_stream())
                for s in self.streams[dev]:
                    s.wait_event(ready)
        if self.chunks:
            self.current = "(pinned host staging buffers)"
            host = _allocate_pinned(n_slots, slot)
            self.pinned = [host[k] for k in range(n_slots)]
            self.copied = [None] * n_slots
        self.current = None
        return n_slots

    # ------------------------------------------------------------- run
    def run(self) -> None:
        n_slots = len(self.pinned)
        # Chunk k uses slot k % n_slots. At most `lookahead` chunks wait undispatched,
        # and lookahead < n_slots, so chunk k - n_slots (the slot's previous user) has
        # been dispatched, and its copy event recorded, before chunk k refills the slot.
        lookahead = max(0, min(LOOKAHEAD, n_slots - 1))
        for k, chunk in enumerate(self.chunks):
            slot = k % n_slots
            if k >= n_slots:
                self.copied[slot].synchronize()   # the pinned buffer's last copy is done
            self.current = chunk.pieces[0][0].name
            futs = self.reader.submit(chunk, self.pinned[slot])
            self.futures.extend(futs)
            self.pending.append((chunk, slot, futs))
            if len(self.pending) > lookahead:
                self.dispatch(*self.pending.popleft())
        while self.pending:
            self.dispatch(*self.pending.popleft())
        self.synchronize()

    def dispatch(self, chunk, slot, futs) -> None:
        cp = self.cp
        runtime = cp.cuda.runtime
        self.current = chunk.pieces[0][0].name
        for f in futs:
            f.result()                            # raises what the copy raised
        self.futures = [f for f in self.futures if not f.done()]
        span = chunk.end - chunk.start
        with cp.cuda.Device(chunk.device):
            stream = self.streams[chunk.device][slot]
            staging = self.staging[chunk.device][slot]
            runtime.memcpyAsync(staging.data.ptr, self.pinned[slot].ctypes.data, span,
                                runtime.memcpyHostToDevice, stream.ptr)
            done = cp.cuda.Event(disable_timing=True)
            done.record(stream)
            self.copied[slot] = done
            for job, tpos, n, cpos in chunk.pieces:
                self.current = job.name
                src = staging[cpos:cpos + n]
                if job.direct:
                    runtime.memcpyAsync(job.dst.data.ptr + tpos, src.data.ptr, n,
                                        runtime.memcpyDeviceToDevice, stream.ptr)
                else:
                    fmt = job.fmt
                    e0 = tpos // fmt.type_size * fmt.block_size
                    e1 = e0 + n // fmt.type_size * fmt.block_size
                    launch_dequant(fmt, src, job.dst[e0:e1], stream=stream)
        if self.bar is not None:
            self.bar.update(chunk.payload)

    def synchronize(self) -> None:
        for dev, streams in self.streams.items():
            with self.cp.cuda.Device(dev):
                for s in streams:
                    s.synchronize()

    # ----------------------------------------------------------- cleanup
    def release_staging(self) -> None:
        self.staging.clear()
        self.streams.clear()
        self.pinned = []
        self.copied = []

    def abort(self) -> None:
        """After an error: stop the host threads, let queued GPU work finish,
        drop every array taken (outputs included)."""
        for f in self.futures:
            f.cancel()
        wait(self.futures)                        # no thread still writes a pinned buffer
        self.futures = []
        self.pending.clear()
        try:
            self.synchronize()                    # no kernel still writes an output
        except Exception:
            pass
        self.release_staging()
        for job in self.jobs:
            job.out = job.dst = None
        self.jobs = []
        self.chunks = []


def _allocate(cp, shape, dtype):
    """Device allocation (a separate function so tests can make it fail)."""
    return cp.empty(shape, dtype=dtype)


def _allocate_pinned(n_slots: int, slot: int) -> np.ndarray:
    """n_slots x slot bytes of pinned host memory from CuPy's pinned pool."""
    import cupyx
    return cupyx.empty_pinned((n_slots, slot), dtype=np.uint8)


def _is_out_of_memory(cp, exc) -> bool:
    if isinstance(exc, MemoryError):
        return True
    runtime_error = getattr(cp.cuda.runtime, "CUDARuntimeError", ())
    return isinstance(exc, runtime_error) and getattr(exc, "status", None) == 2


# ------------------------------------------------------------------- entry
def load_to_gpu(files, *, device=None, dtype=None, quantized=False, progress=None,
                device_map=None):
    """Load every tensor of ``files`` (opened GGUFFile objects, in order) onto the GPU.

    Returns a :class:`cupyquant.loader.GGUFTensors` mapping name -> CuPy array
    (logical NumPy-order shape) or :class:`~cupyquant.quantized.QuantizedTensor`.

    device: None (the current CuPy device), a GPU id, or "cuda:N".
    dtype: None gives float32 for F32 tensors and float16 for all others; an
    explicit float32 / float16 / bfloat16 applies to every dequantized tensor.
    quantized: True keeps every block-quantized tensor quantized on the device;
    a collection of names or a predicate ``f(name) -> bool`` picks tensors.
    progress: True / False, or None for a bar when stderr is a terminal and the
    model is larger than 1 GiB.
    device_map: None (everything on ``device``), "auto" (whole tensors spread
    over all visible GPUs in file order, contiguous runs of about equal output
    bytes) or a dict name -> GPU id (names not in it go to ``device``).
    """
    from ..loader import GGUFTensors, _formats, _progress_bar, _quantized_selector

    cp = cupy_module()
    if cp is None or not gpu_available():
        raise RuntimeError("load_gguf onto the GPU needs CuPy and a usable GPU "
                           "(use device='cpu' for the NumPy path)")
    files = list(files)
    n_devices = cp.cuda.runtime.getDeviceCount()
    default_dev = _device_id(cp, device, n_devices)
    want_dtype = None if dtype is None else output_dtype(dtype)
    keep = _quantized_selector(quantized)
    formats = _formats(files)   # name -> (file, info, format), file order

    # Every tensor, in the order the files list them (the result's order); the
    # same checks and errors as the CPU path (unknown types, duplicate names).
    jobs = []
    for fi, f in enumerate(files):
        for name, info in f.tensors.items():
            job = _Job(name, info, formats[name][2], fi)
            job.keep = job.direct = bool(keep(name, job.fmt))
            if not job.keep:
                if want_dtype is not None:
                    job.dtype = want_dtype
                else:
                    job.dtype = cp.dtype(cp.float32 if job.fmt.name == "F32" else cp.float16)
                job.direct = (job.fmt.name, job.dtype.name) in (
                    ("F32", "float32"), ("F16", "float16"), ("BF16", "bfloat16"))
            jobs.append(job)
    # File order: files in order, tensors by data offset (transfers, device_map="auto").
    order = sorted(jobs, key=lambda j: (j.file_index, int(j.info.offset)))

    # Devices.
    if device_map is None:
        for job in jobs:
            job.device = default_dev
    elif isinstance(device_map, str):
        if device_map != "auto":
            raise ValueError(f"device_map must be None, 'auto' or a dict, got {device_map!r}")
        for job, dev in zip(order, auto_device_map([j.out_nbytes for j in order], n_devices)):
            job.device = dev
    else:
        try:
            mapping = dict(device_map)
        except (TypeError, ValueError):
            raise TypeError(f"device_map must be None, 'auto' or a dict, got {device_map!r}") from None
        unknown = sorted(set(mapping) - set(formats))
        if unknown:
            raise ValueError(f"device_map names tensors not in the model: {unknown[:5]}")
        for job in jobs:
            job.device = (_device_id(cp, mapping[job.name], n_devices) if job.name in mapping
                          else default_dev)

    reader = _Reader([f.path for f in files], READ_METHOD)
    bar = None
    load = None
    try:
        for job in jobs:
            end = int(job.info.offset) + int(job.info.nbytes)
            if int(job.info.offset) < 0 or end > reader.sizes[job.file_index]:
                raise GGUFError(f"tensor data ({job.info.nbytes} bytes) runs past the end of the "
                                f"file ({reader.sizes[job.file_index]} bytes)",
                                path=files[job.file_index].path, tensor=job.name,
                                offset=int(job.info.offset))
        chunks = plan_chunks(order, SLOT_BYTES)
        total = sum(int(j.info.nbytes) for j in jobs)
        desc = f"loading {os.path.basename(str(files[0].path))}" if files else "loading"
        bar = _progress_bar(progress, total, desc)
        load = _Load(cp, jobs, chunks, reader, bar)
        load.allocate_outputs()
        load.prepare_devices()
        load.run()
        load.release_staging()
    except BaseException as exc:
        where = load.current if load is not None else None
        if load is not None:
            load.abort()
        load = None
        jobs = order = chunks = None  # noqa: F841  (drop references to the outputs)
        traceback.clear_frames(exc.__traceback__)
        if not isinstance(exc, (KeyboardInterrupt, GGUFError)) and _is_out_of_memory(cp, exc):
            what = f"tensor {where!r}" if where and not where.startswith("(") else (where or "")
            raise MemoryError(f"out of memory while loading {what} "
                              f"from {files[0].path if files else '?'}: {exc} (everything the "
                              f"load had allocated was released)") from exc
        raise
    finally:
        reader.close()
        if bar is not None:
            bar.close()

    result = {}
    for job in jobs:   # in the files' listing order
        if job.keep:
            from ..quantized import QuantizedTensor
            result[job.name] = QuantizedTensor(job.fmt, job.info.shape, job.out, name=job.name)
        else:
            result[job.name] = job.out
    return GGUFTensors(result, files)
