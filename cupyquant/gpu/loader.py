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
   so every piece keeps the file's alignment in the staging buffers
   (gpu/load_plan.py).
2. *Host* (gpu/host_reader.py). ``N_SLOTS`` pinned staging buffers of
   ``SLOT_BYTES`` are reused in turn. A chunk's bytes go from the page cache
   into its pinned buffer by ``HOST_THREADS`` threads at once, in pieces of
   at most ``PART_BYTES`` (a NumPy copy out of a read-only memory map of the
   file by default, or ``os.preadv`` straight from the file, see
   ``READ_METHOD`` and the environment variable ``CUPYQUANT_LOAD_READ``; both
   release the GIL). ``LOOKAHEAD`` chunks are
   being filled while earlier ones are being consumed by the device. The
   first ``LOOKAHEAD + 1`` chunks start filling before the outputs are
   allocated and the kernels prepared (the host threads need neither).
3. *Device.* Slot ``k`` has, on each device, its own stream. Three paths,
   chosen once per load and per device (``last_load_stats`` says which ran):

   * **in-place** (the default, ``IN_PLACE``; off with the environment
     variable ``CUPYQUANT_LOAD_IN_PLACE=0``): each piece is copied host ->
     device in one copy straight into its tensor's output allocation, a
     quantized piece into the top of it (gpu/inplace.py: the allocation is
     the output plus at most 255 bytes), and the format's kernel then
     dequantizes it where it lies, its stores overwriting input already read.
     The pieces of one tensor are dequantized in order (an event where
     consecutive pieces are on different streams). Pieces with more input
     than output bytes (F32 -> float16 / bfloat16) are copied into a device
     buffer of their own size instead, freed once their kernel is queued.
   * **zero-copy** (``ZERO_COPY``, where ``IN_PLACE`` is off; off with the
     environment variable ``CUPYQUANT_LOAD_ZERO_COPY=0``): used when the device
     can read pinned host memory through its host pointer (unified addressing,
     see :func:`device_reads_host`; memory from ``cudaHostAlloc`` /
     ``hipHostMalloc`` then is mapped on every device). Each piece is
     dequantized by ``launch_dequant`` reading the quantized bytes straight out
     of the pinned buffer over the bus into its slice of the output; tensors
     kept quantized and F32 -> float32, F16 -> float16, BF16 -> bfloat16 are
     copied host -> device straight into place. No device staging memory at
     all.
   * **staging** (the fallback): each device has ``DEVICE_SLOTS`` staging
     areas of one slot (one by default), taken by the chunks in turn. The
     chunk is copied host -> device in one piece, then dequantized (or copied
     device -> device) from there into the outputs on the same stream.
4. *Synchronisation.* An event is recorded on the slot's stream after the last
   operation that reads the pinned buffer: on the zero-copy path after the
   chunk's last kernel or copy, on the in-place and staging paths after the
   host -> device copies. Before a pinned buffer is refilled the host waits for
   that event. On the staging path another event is recorded after the chunk's
   last kernel or copy, and the next chunk that uses the same device staging
   area (on another slot's stream) waits for it before its copy into it. The
   streams wait for an event recorded on the caller's current stream after the
   outputs were allocated, and every stream is synchronised before
   ``load_to_gpu`` returns: the arrays it returns are complete for any stream.

Memory bounds (exact, with the defaults)
----------------------------------------
* Host, beyond the file's page cache: ``N_SLOTS * slot`` bytes of pinned memory
  (``slot = min(SLOT_BYTES, largest chunk rounded up to 1 MiB)``; 4 x 64 MiB =
  256 MiB at most), taken from CuPy's pinned memory pool (so a second load
  reuses them) plus the small planning objects. With ``READ_METHOD = "mmap"``
  the mapped file pages also count in the process RSS (as file pages,
  ``RssFile``: they are the page cache, not extra memory); the map is closed
  when the load ends.
* Device, beyond the outputs, on the in-place path: at most 255 bytes an
  allocation (the layout's rounding), and a sync area a stream (three words
  and one a tile of the largest piece: 29 KiB for a 64 MiB piece of Q4_0),
  plus the same tables and warm-up launches as below. Only F32 tensors
  loaded as 16-bit take more: a device copy of each of their pieces, given
  back to the pool (in its stream's order) once the piece's kernel is queued.
* Device, beyond the outputs, on the zero-copy path: no staging memory (0
  bytes); only the formats' constant tables (a few KiB, kept for later
  launches) and one block-sized warm-up launch per format and dtype (an input
  and an output of one block, freed at once).
* Device, beyond the outputs, on the staging path: on each device one staging
  allocation of ``DEVICE_SLOTS * slot`` bytes (one slot, 64 MiB at most, by
  default), released to CuPy's memory pool when the load ends, plus the same
  tables and warm-up launches.

Failures
--------
Any exception midway (unreadable file, out of memory, a kernel error,
``KeyboardInterrupt``) waits for the host threads, synchronises the streams
(so no kernel still reads a pinned buffer or writes an output) and drops every
device array taken so far before it propagates, so the memory pool's used
bytes are back where they were (the locals of the finished frames in the
exception's traceback are cleared, so a caller holding the exception does not
keep them alive). Running out of device memory is re-raised as
``MemoryError`` naming the tensor; file problems are
:class:`~cupyquant.errors.GGUFError`.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections import deque
from concurrent.futures import wait

import numpy as np

from ..errors import GGUFError
from . import host_reader, inplace, load_plan
from .dequant import dequant_launcher, launch_dequant, output_dtype, tiles_of
from .platform import cupy_module, gpu_available


def _env_flag(name: str, default: bool) -> bool:
    """A boolean environment variable: 0/false/no/off or 1/true/yes/on."""
    value = os.environ.get(name, "").strip().lower()
    if value in ("0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    return default


#: Bytes of one staging slot (pinned host buffer, and device staging area on
#: the staging path). In the H200 load benchmark (2.4 GB file, 12 threads,
#: 2026-12-01) 64 MiB slots loaded in 83.6 ms against 123.8 ms with 32 MiB:
#: fewer hand-offs between the host threads and the streams.
SLOT_BYTES = 64 << 20
#: Number of slots: pinned buffers, and streams (+ device staging areas) per device.
N_SLOTS = 4
#: Chunks being filled on the host while earlier ones are consumed (< N_SLOTS).
#: 3 (every slot busy) and 8 MiB pieces measured no faster than 2 and 4 MiB in
#: the H200 load benchmark (95 / 92 ms, notes/h200_s9/bench_load.txt), although
#: a stand-alone copy pipeline with a plain read kernel moved the same bytes in
#: 64-69 ms (notes/h200_s9/probe_hybrid.txt): the gap is not understood yet.
LOOKAHEAD = 2
#: Largest piece of a chunk one host thread copies (pieces are at least 1 MiB).
PART_BYTES = 4 << 20
#: Python's thread switch interval (seconds) while a load runs, or None to
#: leave it. The main thread launches kernels in Python while the host
#: threads copy; a copy thread whose NumPy copy is done waits for the GIL, by
#: default up to 5 ms (sys.getswitchinterval), before it can take the next
#: piece. That wait is the suspected part of the gap between this loader and a
#: plain copy pipeline (see LOOKAHEAD); the load benchmark's sweep measures it.
#: Restored when the load ends (it is process-wide while it runs).
GIL_SWITCH_INTERVAL = 0.0002
#: Host threads copying file bytes into the pinned buffers. Measured on the
#: H200 host (16 cores, 2 GiB page-cached file into pinned memory): mmap copies
#: 18.3 / 29.4 / 35.6 / 35.1 GB/s with 4 / 8 / 12 / 16 threads in one probe,
#: 37.6 / 45.1 / 41.9 GB/s with 8 / 12 / 16 in the load benchmark of
#: 2026-12-02 (the host side varies from run to run); whole loads there:
#: 83.7 / 71.3 / 72.5 / 89.8 ms with 8 / 12 / 14 / 16 threads
#: (notes/h200_s10/run1_bench_load.txt), 80.7 against 95.5 ms for 12 against
#: 8 in session 9. About three quarters of the cores, at most 12: room for
#: the dispatching thread and the driver's threads.
_CORES = os.cpu_count() or 1
HOST_THREADS = max(1, min(12, _CORES - _CORES // 4))
#: "mmap": NumPy copy out of a read-only memory map of the file (the faster
#: one measured there); "pread": os.preadv from the file into pinned memory
#: (17-27 GB/s there with 4-16 threads).
READ_METHOD = os.environ.get("CUPYQUANT_LOAD_READ") or "mmap"
#: Launch the dequantization kernels with programmatic dependent launch
#: (gpu/launch.py). Off: its ctypes launch costs more Python than CuPy's, and
#: the loader's dispatching thread competes for the GIL with the copy threads
#: (H200, 2.4 GB: 72 ms against 67 ms with it off, notes/h200_s12 run 1).
PDL = False
#: Kernels read the quantized bytes straight from the pinned buffers (no
#: device staging) on devices that can (see device_reads_host).
ZERO_COPY = _env_flag("CUPYQUANT_LOAD_ZERO_COPY", True)
#: Quantized bytes go host -> device into the top of their tensor's own
#: output allocation and are dequantized there (gpu/inplace.py): no device
#: staging and no reads over the bus. Off (environment variable
#: CUPYQUANT_LOAD_IN_PLACE=0): the zero-copy or staging path. The default
#: for its memory (none beyond the outputs, no staging chunk), not its speed:
#: H200, 2.4 GB file to float16, best of two in the load benchmark's sweep,
#: in place / zero-copy / staging with one device area: 66.8 / 71.2 / 68.2
#: ms (notes/h200_s29 run 1, whose in-place kernel took 35-40 us more a
#: 64 MiB piece than today's), 81.5 / 78.4 / 85.1 ms (run 5, the host slower
#: and noisier). The host's copies out of the page cache set the pace.
IN_PLACE = _env_flag("CUPYQUANT_LOAD_IN_PLACE", True)
#: Device staging buffers (one slot each) a device has on the staging path,
#: shared by the slots' streams in turn: a chunk's host -> device copy waits
#: for the kernels of the chunk that used its buffer before (an event). One
#: keeps the device memory beyond the outputs at one staging chunk; the
#: device's dequantization of a chunk takes a few percent of its copy over
#: the bus, so the copies lose little by waiting for it. At most N_SLOTS.
DEVICE_SLOTS = 1

#: What the last load_to_gpu call of the process did (replaced by each call):
#: "path" ("in-place", "zero-copy", "staging", or "mixed" where devices took
#: different ones), "devices" (device id -> path), "slots", "slot_bytes",
#: "pinned_bytes", "device_staging_bytes", "device_sync_bytes" (in-place sync
#: areas), "device_slots" (device id -> staging areas), "threads",
#: "read_method", "chunks", "tensor_bytes", "complete" (False while running
#: or after a failure).
last_load_stats: dict = {}


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


def device_reads_host(cp, dev: int) -> bool:
    """True when kernels on GPU ``dev`` can read pinned host memory (CuPy's
    pinned pool: ``cudaHostAlloc`` / ``hipHostMalloc``) through its host
    pointer. That holds under unified addressing, where such memory is mapped
    on every device at the same address, on CUDA and on ROCm. Read from
    ``Device.attributes`` (``UnifiedAddressing``; ``CanMapHostMemory`` and
    ``CanUseHostPointerForRegisteredMem`` must not be 0 where present), or
    from the device properties when an attribute is missing; unknown means
    no."""
    try:
        attrs = dict(cp.cuda.Device(dev).attributes)
    except Exception:
        attrs = {}
    props = None

    def flag(attr_name, prop_name):
        nonlocal props
        if attr_name in attrs:
            return bool(attrs[attr_name])
        if props is None:
            try:
                props = dict(cp.cuda.runtime.getDeviceProperties(dev))
            except Exception:
                props = {}
        value = props.get(prop_name)
        return None if value is None else bool(value)

    if not flag("UnifiedAddressing", "unifiedAddressing"):
        return False
    return all(flag(a, p) is not False
               for a, p in (("CanMapHostMemory", "canMapHostMemory"),
                            ("CanUseHostPointerForRegisteredMem",
                             "canUseHostPointerForRegisteredMem")))


def pinned_view_on_device(cp, host: np.ndarray, dev: int):
    """A CuPy uint8 array on device ``dev`` over pinned host memory (zero-copy:
    kernels read it over the bus); it keeps ``host`` alive."""
    mem = cp.cuda.UnownedMemory(host.ctypes.data, host.nbytes, host, device_id=dev)
    return cp.ndarray((host.nbytes,), dtype=cp.uint8, memptr=cp.cuda.MemoryPointer(mem, 0))


# -------------------------------------------------------------- the pipeline
class _Load:
    """State of one load; ``abort()`` releases everything it holds."""

    def __init__(self, cp, jobs, chunks, reader, bar, zero_copy: bool, in_place: bool):
        self.cp, self.jobs, self.chunks, self.reader, self.bar = cp, jobs, chunks, reader, bar
        self.want_zero_copy = zero_copy   # ZERO_COPY, read once at the start of the load
        self.in_place = in_place          # IN_PLACE, likewise
        self.current = None         # name of the tensor being worked on (for messages)
        self.paths = {}             # device -> "in-place", "zero-copy" or "staging"
        self.sync_areas = {}        # device -> [gpu.inplace.SyncArea per slot] (in-place path)
        self.streams = {}           # device -> [stream per slot]
        self.staging = {}           # device -> [device uint8 array per device slot] (staging path)
        self.staging_free = {}      # device -> [event after the last reader of each device slot]
        self.staging_next = {}      # device -> the device slot the device's next chunk uses
        self.host_views = {}        # device -> [CuPy view of each pinned buffer] (zero-copy)
        self.pinned = []            # pinned uint8 array per slot
        self.slot_free = []         # event per slot: recorded after the last read of its pinned buffer
        self.pending = deque()      # (chunk, slot, futures) filled but not yet dispatched
        self.futures = []           # every host future not known to be finished
        self.slot = 0               # bytes of one slot
        self.submitted = 0          # chunks whose host copies have been started
        self.staging_bytes = 0      # device staging bytes taken, all devices
        self.sync_bytes = 0         # in-place sync area bytes, all devices

    # ------------------------------------------------------------ setup
    def allocate_outputs(self) -> None:
        cp = self.cp
        for job in self.jobs:
            self.current = job.name
            with cp.cuda.Device(job.device):
                shape = tuple(int(s) for s in job.info.shape)
                lay = None
                if self.in_place and not job.direct and job.info.nbytes:
                    lay = inplace.layout(job.fmt, int(job.info.nbytes) // job.fmt.type_size,
                                         job.dtype.itemsize)
                if job.keep:
                    job.out = _allocate(cp, (int(job.info.nbytes),), cp.uint8)
                    job.dst = job.out
                elif lay is not None:
                    # one allocation: the output, with the quantized bytes copied into its top
                    raw = _allocate(cp, (lay.alloc_bytes,), cp.uint8)
                    job.layout = lay
                    job.out = raw[:lay.out_bytes].view(job.dtype).reshape(shape)
                    job.dst = job.out.reshape(-1)
                else:
                    job.out = _allocate(cp, shape, job.dtype)
                    flat = job.out.reshape(-1)
                    job.dst = flat.view(cp.uint8) if job.direct else flat
        self.current = None

    def prepare_host(self) -> None:
        """The pinned staging buffers (slots)."""
        span = max((c.end - c.start for c in self.chunks), default=0)
        self.slot = min(SLOT_BYTES, -(-span // (1 << 20)) * (1 << 20))
        if self.chunks:
            n_slots = max(1, min(N_SLOTS, len(self.chunks)))
            self.current = "(pinned host staging buffers)"
            host = _allocate_pinned(n_slots, self.slot)
            self.pinned = [host[k] for k in range(n_slots)]
            self.slot_free = [None] * n_slots
        self.current = None

    def prepare_devices(self) -> None:
        """Compile the kernels; streams, and per device either views of the
        pinned buffers (zero-copy) or device staging."""
        cp = self.cp
        n_slots, slot = len(self.pinned), self.slot
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
                raw = None
                cp.cuda.Device().synchronize()
                if not any(c.device == dev for c in self.chunks):
                    continue
                if self.in_place:
                    path = "in-place"
                elif self.want_zero_copy and device_reads_host(cp, dev):
                    path = "zero-copy"
                else:
                    path = "staging"
                self.paths[dev] = path
                if path == "in-place":
                    self.current = f"(in-place sync areas on GPU {dev})"
                    tiles = max((tiles_of(job.fmt, n // job.fmt.type_size)
                                 for c in self.chunks if c.device == dev
                                 for job, _, n, _ in c.pieces if job.layout is not None), default=0)
                    self.sync_areas[dev] = [inplace.SyncArea(tiles) for _ in range(n_slots)]
                    self.sync_bytes += sum(a.nbytes for a in self.sync_areas[dev])
                elif path == "zero-copy":
                    self.current = f"(pinned buffers mapped on GPU {dev})"
                    self.host_views[dev] = [pinned_view_on_device(cp, p, dev) for p in self.pinned]
                else:
                    self.current = f"(staging buffers on GPU {dev})"
                    n_dev = max(1, min(DEVICE_SLOTS, n_slots))
                    area = _allocate(cp, (n_dev, slot), cp.uint8)
                    self.staging_bytes += int(area.nbytes)
                    self.staging[dev] = [area[k] for k in range(n_dev)]
                    self.staging_free[dev] = [None] * n_dev
                    self.staging_next[dev] = 0
                self.streams[dev] = [cp.cuda.Stream(non_blocking=False) for _ in range(n_slots)]
                ready = cp.cuda.Event(disable_timing=True)
                ready.record(cp.cuda.get_current_stream())
                for s in self.streams[dev]:
                    s.wait_event(ready)
        self.current = None

    def stats(self) -> dict:
        paths = dict(self.paths)
        kinds = set(paths.values())
        return {"path": kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "none"),
                "devices": paths, "slots": len(self.pinned), "slot_bytes": self.slot,
                "pinned_bytes": len(self.pinned) * self.slot,
                "device_staging_bytes": self.staging_bytes,
                "device_sync_bytes": self.sync_bytes,
                "device_slots": {dev: len(areas) for dev, areas in self.staging.items()},
                "threads": HOST_THREADS, "read_method": self.reader.method,
                "chunks": len(self.chunks),
                "tensor_bytes": sum(int(j.info.nbytes) for j in self.jobs),
                "complete": False}

    # ------------------------------------------------------------- run
    # Chunk k uses slot k % n_slots. Before chunk k is submitted at most
    # `lookahead` chunks wait undispatched, and lookahead < n_slots, so chunk
    # k - n_slots (the slot's previous user) has been dispatched, and its
    # slot_free event recorded, before chunk k refills the slot.
    def lookahead(self) -> int:
        return max(0, min(LOOKAHEAD, len(self.pinned) - 1))

    def submit(self, k: int) -> None:
        """Start the host copies of chunk k into its slot."""
        chunk, slot = self.chunks[k], k % len(self.pinned)
        if k >= len(self.pinned):
            self.slot_free[slot].synchronize()   # nothing reads the pinned buffer any more
        self.current = chunk.pieces[0][0].name
        futs = self.reader.submit(chunk, self.pinned[slot])
        self.futures.extend(futs)
        self.pending.append((chunk, slot, futs))
        self.submitted = k + 1

    def start_fills(self) -> None:
        """Submit the first chunks (lookahead + 1, each to a slot of its own)
        before the outputs and kernels are set up: the host threads need
        neither, and the first chunks' copies then overlap that setup."""
        for k in range(min(self.lookahead() + 1, len(self.chunks))):
            self.submit(k)

    def run(self) -> None:
        lookahead = self.lookahead()
        for k in range(self.submitted, len(self.chunks)):
            while len(self.pending) > lookahead:
                self.dispatch(*self.pending.popleft())
            self.submit(k)
        while self.pending:
            self.dispatch(*self.pending.popleft())
        self.synchronize()

    def dispatch(self, chunk, slot, futs) -> None:
        self.current = chunk.pieces[0][0].name
        for f in futs:
            f.result()                            # raises what the copy raised
        self.futures = [f for f in self.futures if not f.done()]
        if self.paths[chunk.device] == "in-place":
            self.dispatch_in_place(chunk, slot)
        else:
            self.dispatch_from_buffer(chunk, slot)
        if self.bar is not None:
            self.bar.update(chunk.payload)

    def launch_piece(self, job, src_ptr: int, tpos: int, n: int, stream) -> None:
        """The ordinary kernel of one piece: its input at ``src_ptr``, its
        output at its place in the tensor (by address, no array slices: the
        fewer Python steps here, the sooner the host threads get the GIL
        back)."""
        fmt = job.fmt
        e0 = tpos // fmt.type_size * fmt.block_size
        dequant_launcher(fmt, job.dtype)(src_ptr, job.dst.data.ptr + e0 * job.dst.itemsize,
                                         n // fmt.type_size, stream=stream, pdl=PDL)

    def dispatch_from_buffer(self, chunk, slot) -> None:
        """The zero-copy and staging paths' share of dispatch(): the kernels
        read the chunk from the pinned buffer (zero-copy) or from a device
        staging slot it is copied into first."""
        cp = self.cp
        runtime = cp.cuda.runtime
        dev = chunk.device
        with cp.cuda.Device(dev):
            stream = self.streams[dev][slot]
            zero_copy = self.paths[dev] == "zero-copy"
            if zero_copy:
                # The kernels read the pinned buffer itself (a device-side view of it);
                # direct pieces are copied host -> device straight into place.
                src_all = self.host_views[dev][slot]
                direct_kind = runtime.memcpyHostToDevice
            else:
                # The device slots are taken in turn; this chunk's copy into one
                # waits for the last reader of its previous chunk (another stream).
                dslot = self.staging_next[dev]
                self.staging_next[dev] = (dslot + 1) % len(self.staging[dev])
                if self.staging_free[dev][dslot] is not None:
                    stream.wait_event(self.staging_free[dev][dslot])
                src_all = self.staging[dev][dslot]
                direct_kind = runtime.memcpyDeviceToDevice
                runtime.memcpyAsync(src_all.data.ptr, self.pinned[slot].ctypes.data,
                                    chunk.end - chunk.start, runtime.memcpyHostToDevice,
                                    stream.ptr)
                self.slot_free[slot] = self.event_after(stream)  # the pinned buffer's only reader
            base = src_all.data.ptr
            for job, tpos, n, cpos in chunk.pieces:
                self.current = job.name
                if job.direct:
                    runtime.memcpyAsync(job.dst.data.ptr + tpos, base + cpos, n,
                                        direct_kind, stream.ptr)
                else:
                    self.launch_piece(job, base + cpos, tpos, n, stream)
            done = self.event_after(stream)  # every kernel / copy reading the chunk's buffer
            if zero_copy:
                self.slot_free[slot] = done      # the host may refill the pinned buffer after it
            else:
                self.staging_free[dev][dslot] = done  # the next copy into the device slot waits for it

    def dispatch_in_place(self, chunk, slot) -> None:
        """The in-place path's share of dispatch(): every piece's bytes host ->
        device in one copy each, straight into place (quantized pieces into
        the top of their tensor's allocation), then the kernels, each
        dequantizing its piece where it lies (gpu/inplace.py)."""
        cp = self.cp
        runtime = cp.cuda.runtime
        h2d = runtime.memcpyHostToDevice
        pinned = self.pinned[slot].ctypes.data
        dev = chunk.device
        with cp.cuda.Device(dev):
            stream = self.streams[dev][slot]
            area = self.sync_areas[dev][slot]
            # Pieces with more input than output bytes (F32 -> 16-bit) have no
            # in-place layout: a device copy of the piece, freed in this stream's
            # order once its kernel is queued (CuPy's pool reuses it on this
            # stream only).
            copies = deque()  # those device copies, in piece order
            for job, tpos, n, cpos in chunk.pieces:
                self.current = job.name
                if job.direct:
                    dst = job.dst.data.ptr + tpos
                elif job.layout is not None:
                    dst = job.dst.data.ptr + job.layout.src_offset + tpos
                else:
                    with stream:
                        copies.append(_allocate(cp, (n,), cp.uint8))
                    dst = copies[-1].data.ptr
                runtime.memcpyAsync(dst, pinned + cpos, n, h2d, stream.ptr)
            self.slot_free[slot] = self.event_after(stream)  # the copies are the pinned buffer's readers
            for job, tpos, n, cpos in chunk.pieces:
                if job.direct:
                    continue
                self.current = job.name
                if job.layout is None:
                    # the copy is dropped (back to the pool, in this stream's order)
                    # only after its kernel is queued
                    piece_copy = copies.popleft()
                    self.launch_piece(job, piece_copy.data.ptr, tpos, n, stream)
                    del piece_copy
                    continue
                fmt = job.fmt
                first, n_blocks = tpos // fmt.type_size, n // fmt.type_size
                # A tensor's pieces in order: this one's stores overwrite the
                # input of earlier ones, which their kernels must have read.
                if job.last is not None and job.last[0] is not stream:
                    stream.wait_event(job.last[1])
                inplace.launch_in_place(fmt, job.dtype, job.dst.data.ptr, job.layout, first, n_blocks, area,
                                        stream)
                job.last = (stream, self.event_after(stream)) if tpos + n < int(job.info.nbytes) else None

    def event_after(self, stream):
        """An event recorded on ``stream``: it completes after everything queued
        there so far (a buffer's last reader)."""
        done = self.cp.cuda.Event(disable_timing=True)
        done.record(stream)
        return done

    def synchronize(self) -> None:
        for dev, streams in self.streams.items():
            with self.cp.cuda.Device(dev):
                for s in streams:
                    s.synchronize()

    # ----------------------------------------------------------- cleanup
    def release_staging(self) -> None:
        """Drop the staging buffers, views and streams (after synchronize())."""
        self.host_views.clear()
        self.sync_areas.clear()
        self.staging.clear()
        self.staging_free.clear()
        self.streams.clear()
        self.pinned = []
        self.slot_free = []

    def abort(self) -> None:
        """After an error: stop the host threads, let queued GPU work finish
        (no kernel still reads a pinned buffer or writes an output), drop
        every array taken (outputs included)."""
        for f in self.futures:
            f.cancel()
        wait(self.futures)                        # no thread still writes a pinned buffer
        self.futures = []
        self.pending.clear()
        try:
            self.synchronize()
        except Exception:
            pass
        self.release_staging()
        for job in self.jobs:
            job.out = job.dst = job.last = None
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


def _set_last_load_stats(stats: dict) -> None:
    global last_load_stats
    last_load_stats = stats


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

    What the load did (zero-copy or staging path, slots, threads) is left in
    the module's ``last_load_stats``.
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
    keep = _quantized_selector(quantized, files)   # checks the names against the model
    formats = _formats(files)   # name -> (file, info, format), file order

    # Every tensor, in the order the files list them (the result's order); the
    # same checks and errors as the CPU path (unknown types, duplicate names).
    jobs = []
    for fi, f in enumerate(files):
        for name, info in f.tensors.items():
            job = load_plan.Job(name, info, formats[name][2], fi)
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
        for job, dev in zip(order, load_plan.auto_device_map([j.out_nbytes for j in order], n_devices)):
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

    reader = host_reader.HostReader([f.path for f in files], READ_METHOD, HOST_THREADS, PART_BYTES)
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
        chunks = load_plan.plan_chunks(order, SLOT_BYTES)
        total = sum(int(j.info.nbytes) for j in jobs)
        desc = f"loading {os.path.basename(str(files[0].path))}" if files else "loading"
        bar = _progress_bar(progress, total, desc)
        load = _Load(cp, jobs, chunks, reader, bar, ZERO_COPY, IN_PLACE)
        switch = sys.getswitchinterval()
        if GIL_SWITCH_INTERVAL:
            sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        try:
            load.prepare_host()
            load.start_fills()
            load.allocate_outputs()
            load.prepare_devices()
            stats = load.stats()
            _set_last_load_stats(stats)
            load.run()
        finally:
            sys.setswitchinterval(switch)
        load.release_staging()
        stats["complete"] = True
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
            result[job.name] = QuantizedTensor(job.fmt, job.info.shape, job.out, name=job.name, read_only=True)
        else:
            result[job.name] = job.out
    return GGUFTensors(result, files)
