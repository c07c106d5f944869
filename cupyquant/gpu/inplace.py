"""Dequantization in place: the quantized bytes inside the output's own allocation.

The loader's in-place path copies a tensor's quantized bytes host -> device
into the top of the allocation that will hold its dequantized values, and
the format's kernel writes the values from the bottom up over them. No
device memory is taken beyond the outputs, yet the kernels read device
memory, not host memory over the bus.

Layout (:func:`layout`): with Q input bytes and O output bytes a block
(O = block size x output itemsize, Q <= O) and n blocks, the input starts
at ``src_offset`` = (O - Q) n rounded up to 256 bytes. Then block i's output
[O i, O (i + 1)) ends at or below the start of block i + 1's input
(``src_offset`` + Q (i + 1)): a store can only overwrite the input of its own
block or of earlier ones. The allocation is max(O n, ``src_offset`` + Q n),
at most 255 bytes more than the output. A piece [a, b) of the blocks keeps
that property (its input starts at least (O - Q)(b - a) bytes above its
output), so the loader may dequantize a tensor piece by piece, in order.

Within one launch the kernel orders the tiles itself (hip/common.h,
``cq_inplace``): tiles are taken in order from a ticket counter, a tile's
flag is set once its input is in shared memory, and a tile's stores wait for
the flags of the earlier tiles whose input they cover. The counters and
flags live in a :class:`SyncArea`, one for the launches of one stream (they
run one after another).
"""

from __future__ import annotations

from typing import NamedTuple

from .dequant import dequant_launcher, tiles_of
from .platform import cupy_module

#: Alignment of the input inside the allocation (the kernel's 16-byte loads
#: need 16; 256 keeps it like a fresh allocation).
SRC_ALIGN = 256


class Layout(NamedTuple):
    """Where the input goes in the allocation of one in-place tensor."""
    alloc_bytes: int   # bytes to allocate (the output first, then at most 255 more)
    out_bytes: int     # bytes of the dequantized output, from offset 0
    src_offset: int    # where the quantized input starts


def layout(fmt, n_blocks: int, out_itemsize: int) -> Layout | None:
    """The in-place layout of ``n_blocks`` blocks of ``fmt`` dequantized to
    ``out_itemsize``-byte values, or None where a block has more input
    than output bytes (F32 -> 16-bit: the input would not fit)."""
    q = fmt.type_size
    o = fmt.block_size * out_itemsize
    if q > o:
        return None
    out_bytes = o * n_blocks
    src_offset = -(-(o - q) * n_blocks // SRC_ALIGN) * SRC_ALIGN
    return Layout(max(out_bytes, src_offset + q * n_blocks), out_bytes, src_offset)


class SyncArea:
    """Ticket and exit counters, the last launch's mark and one flag a tile,
    for in-place launches of up to ``max_tiles`` tiles that run one at a
    time (those of one stream). Zeroed once; each launch marks its flags
    with the last launch's mark plus one and leaves the counters at 0, on the
    device (a CUDA graph holding such launches replays correctly)."""

    def __init__(self, max_tiles: int):
        cp = cupy_module()
        self.max_tiles = int(max_tiles)
        self.words = cp.zeros(3 + self.max_tiles, dtype=cp.uint32)

    @property
    def nbytes(self) -> int:
        return int(self.words.nbytes)


def launch_in_place(fmt, out_dtype, base_ptr: int, lay: Layout, first: int, n_blocks: int, area: SyncArea,
                    stream=None) -> None:
    """Dequantize blocks [first, first + n_blocks) of a tensor laid out as
    ``lay`` in the allocation at ``base_ptr`` (its input already there) into
    that allocation's output, on ``stream``. The earlier blocks of the
    tensor must be done (or ordered before this launch)."""
    q, o = fmt.type_size, fmt.block_size * cupy_module().dtype(out_dtype).itemsize
    if first < 0 or n_blocks < 0 or lay.src_offset + q * (first + n_blocks) > lay.alloc_bytes:
        raise ValueError(f"{fmt.name}: blocks [{first}, {first + n_blocks}) are outside the in-place "
                         f"layout {lay}")
    if o * (first + n_blocks) > lay.out_bytes:
        raise ValueError(f"{fmt.name}: layout {lay} is not for {cupy_module().dtype(out_dtype)} output")
    if n_blocks == 0:
        return
    tiles = tiles_of(fmt, n_blocks)
    if tiles > area.max_tiles:
        raise ValueError(f"{fmt.name}: {tiles} tiles, the sync area holds {area.max_tiles}")
    dequant_launcher(fmt, out_dtype)(base_ptr + lay.src_offset + q * first, base_ptr + o * first, n_blocks,
                                     stream=stream, sync_ptr=area.words.data.ptr)


def dequant_in_place(fmt, buf, n_blocks: int, dtype, area: SyncArea | None = None):
    """Dequantize the ``n_blocks`` blocks that ``buf`` (a CuPy uint8 array of
    ``layout(...).alloc_bytes`` bytes) holds at the layout's ``src_offset``,
    in place; returns the flat output view of ``buf``."""
    cp = cupy_module()
    dt = cp.dtype(dtype)
    lay = layout(fmt, n_blocks, dt.itemsize)
    if lay is None:
        raise ValueError(f"{fmt.name} -> {dt}: a block has more input than output bytes, "
                         f"no in-place layout")
    if buf.dtype != cp.uint8 or not buf.flags.c_contiguous or buf.size < lay.alloc_bytes:
        raise ValueError(f"{fmt.name}: in place needs a contiguous uint8 buffer of {lay.alloc_bytes} "
                         f"bytes, got {buf.dtype} x {buf.size}")
    with buf.device:
        area = area or SyncArea(tiles_of(fmt, n_blocks))
        launch_in_place(fmt, dt, buf.data.ptr, lay, 0, n_blocks, area)
    return buf[:lay.out_bytes].view(dt)
