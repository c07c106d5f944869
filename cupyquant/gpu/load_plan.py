"""The GPU loader's plan: every tensor a job, its bytes grouped into chunks.

A chunk is a contiguous byte range of one file, for one device, at most one
staging slot long: small tensors share a chunk, a large tensor is cut over
several at whole units (about ``UNIT_ELEMS`` elements, so that every piece's
output slice stays aligned). The chunk start is rounded down to ``ALIGN``
bytes, so every piece keeps the file's alignment in the staging buffers.
``auto_device_map`` spreads the tensors over the GPUs for
``device_map="auto"``. Pure bookkeeping: no CuPy, no settings of the loader.
"""

from __future__ import annotations

ALIGN = 256              # chunk starts are rounded down to this (file alignment kept)
MAX_GAP = 1 << 16        # a gap larger than this between two tensors starts a new chunk
UNIT_ELEMS = 4096        # large tensors are split at multiples of this many elements


def unit_bytes(fmt) -> int:
    """Bytes of the smallest piece a large tensor is cut at (whole blocks,
    about UNIT_ELEMS elements, so output slices stay aligned)."""
    return max(1, UNIT_ELEMS // fmt.block_size) * fmt.type_size


class Job:
    """One tensor: where its bytes are and where they go."""

    __slots__ = ("name", "info", "fmt", "file_index", "device", "keep", "dtype", "direct",
                 "out", "dst", "layout", "last")

    def __init__(self, name, info, fmt, file_index):
        self.name, self.info, self.fmt, self.file_index = name, info, fmt, file_index
        self.device = None
        self.keep = False      # stays quantized (QuantizedTensor)
        self.dtype = None      # output dtype (None when kept quantized)
        self.direct = False    # bytes copied as they are, no kernel (kept, or same float type)
        self.out = None        # the result array (uint8 raw bytes when kept)
        self.dst = None        # flat view written by the pieces
        self.layout = None     # in-place path: gpu.inplace.Layout of its allocation, which starts at dst
        self.last = None       # ... (stream, event after the kernel of its latest piece)

    @property
    def out_nbytes(self) -> int:
        if self.keep:
            return int(self.info.nbytes)
        return int(self.info.n_elements) * self.dtype.itemsize


class Chunk:
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
    units (see unit_bytes)."""
    chunks = []
    cur = None
    for job in jobs:
        unit = unit_bytes(job.fmt)
        if slot_bytes < unit + ALIGN:
            raise ValueError(f"staging slot of {slot_bytes} bytes is too small for "
                             f"{job.fmt.name} (needs {unit + ALIGN})")
        total, base, pos = int(job.info.nbytes), int(job.info.offset), 0
        while pos < total:
            start, left = base + pos, total - pos
            n = 0
            if (cur is not None and cur.file_index == job.file_index and cur.device == job.device
                    and cur.end <= start <= cur.end + MAX_GAP):
                room = cur.start + slot_bytes - start
                n = left if left <= room else max(0, room) // unit * unit
            if n == 0:
                cur = Chunk(job.file_index, job.device, start - start % ALIGN)
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
