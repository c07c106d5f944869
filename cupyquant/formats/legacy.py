"""The original ggml block formats: one float16 scale (and offset) per 32 values.

Helpers shared by several families (float16 scale extraction, byte lookup
tables) live here too.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T

from .base import BlockFormat


def f16_field(blocks: np.ndarray, offset: int) -> np.ndarray:
    """The float16 stored at ``offset`` of each block, as float32, shape (n, 1)."""
    return blocks[:, offset:offset + 2].view(np.float16).astype(np.float32)


class Q4_0(BlockFormat, qtype=T.Q4_0):
    """d * (q - 8); q: 4 bits. Bytes 0-15 of qs hold values 0-15 (low nibble)
    and 16-31 (high nibble)."""
    block_fields = (("d", "<f2"), ("qs", "u1", 16))
    hip_family = "legacy"

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        out[...] = q4_codes(blocks, 2)   # one uint8 -> float32 conversion pass
        np.subtract(out, 8, out=out)      # q - 8 is exact in float32
        np.multiply(out, d, out=out)

    def matmul(self, x, buf, shape, **kw):
        """``x @ W.T`` for W the (N, K) Q4_0 tensor held in the CuPy uint8
        buffer ``buf``, without dequantizing it; see :func:`cupyquant.matmul`
        (keywords ``out``, ``dtype``, ``path``)."""
        from ..qmatmul import matmul
        from ..quantized import QuantizedTensor
        return matmul(x, QuantizedTensor(self, shape, buf), **kw)


# ---------------------------------------------------------------- speed notes
# NumPy pays a few ns for every run of its innermost loop: an operation on an
# (n, 16) slice of (n, 18) blocks runs n short loops and is several times
# slower than the same work on the flat, contiguous chunk. So the decoders
# below do their integer work on whole rows (flat), gather the bytes they need
# with one copy of opaque items (``as_items``), and keep float work contiguous.

def as_items(a: np.ndarray) -> np.ndarray:
    """The last axis of a uint8/int8 array (contiguous along it) as one opaque
    item: copying the result moves a whole byte run per item, in one loop."""
    return a.view(f"V{a.shape[-1]}")[..., 0]


def nibble_planes(blocks: np.ndarray) -> np.ndarray:
    """(2, n, type_size) uint8: the low and the high nibble of every byte."""
    flat = np.ascontiguousarray(blocks).reshape(-1)
    planes = np.empty((2, flat.size), np.uint8)
    np.bitwise_and(flat, 15, out=planes[0])
    np.right_shift(flat, 4, out=planes[1])
    return planes.reshape(2, *blocks.shape)


def nibble_codes(blocks: np.ndarray, start: int, groups: int = 1, width: int = 16,
                 planes=None) -> np.ndarray:
    """4-bit codes stored as in Q4_0, in ``groups`` runs of ``width`` bytes from
    byte ``start``: each run gives its ``width`` low nibbles, then its ``width``
    high nibbles. A contiguous (n, groups, 2 * width) uint8 array; ``planes``
    reuses ``nibble_planes(blocks)`` when the caller already has it."""
    lo, hi = nibble_planes(blocks) if planes is None else planes
    n = blocks.shape[0]
    stop = start + groups * width
    q = np.empty((n, groups, 2 * width), np.uint8)
    items = q.view(f"V{width}")                                   # (n, groups, 2)
    items[:, :, 0] = as_items(lo[:, start:stop].reshape(n, groups, width))
    items[:, :, 1] = as_items(hi[:, start:stop].reshape(n, groups, width))
    return q


def q4_codes(blocks: np.ndarray, start: int) -> np.ndarray:
    """The 32 4-bit codes of the Q4_0 layout (qs = blocks[:, start:start + 16]:
    code j < 16 is the low nibble of qs[j], code j >= 16 the high nibble of
    qs[j - 16]) as a contiguous (n, 32) uint8 array."""
    return nibble_codes(blocks, start).reshape(blocks.shape[0], 32)


def contiguous_bytes(blocks: np.ndarray, start: int, stop: int, dtype=np.uint8) -> np.ndarray:
    """blocks[:, start:stop] as a contiguous array (one item copy a block)."""
    out = np.empty((blocks.shape[0], stop - start), dtype)
    out.view(np.uint8).view(f"V{stop - start}")[:, 0] = as_items(blocks[:, start:stop])
    return out


def high_bit_lut() -> np.ndarray:
    """For every byte: 8 bytes, byte k = 16 * bit k (bit 4 of the values a
    Q5 qh byte covers), as one little-endian uint64 (np.take on whole bytes)."""
    b = np.arange(256)[:, None]
    return ((((b >> np.arange(8)) & 1) << 4).astype(np.uint8)).view("<u8").reshape(256)


def q5_codes(blocks: np.ndarray, qh: int, qs: int) -> np.ndarray:
    """The 32 5-bit codes of Q5_0/Q5_1 as a contiguous (n, 32) uint8 array:
    bit 4 of code j is bit j of the little-endian uint32 at ``qh``."""
    q = q4_codes(blocks, qs)
    h = np.take(_HIGH_BITS, contiguous_bytes(blocks, qh, qh + 4), mode="clip").view(np.uint8)
    np.bitwise_or(q, h, out=q)
    return q


_HIGH_BITS = high_bit_lut()


class Q4_1(BlockFormat, qtype=T.Q4_1):
    """(d * q) + m; q: 4 bits laid out as in Q4_0."""
    block_fields = (("d", "<f2"), ("m", "<f2"), ("qs", "u1", 16))
    hip_family = "legacy"

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        m = f16_field(blocks, 2)
        out[...] = q4_codes(blocks, 4)
        np.multiply(out, d, out=out)
        np.add(out, m, out=out)


class Q5_0(BlockFormat, qtype=T.Q5_0):
    """d * (q - 16); q: 5 bits, the low 4 as in Q4_0, bit 4 of value j is bit j
    of the little-endian 32-bit qh."""
    block_fields = (("d", "<f2"), ("qh", "u1", 4), ("qs", "u1", 16))
    hip_family = "legacy"

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        q = q5_codes(blocks, 2, 6)
        np.subtract(q, 16, out=q)          # wraps: read back as int8, q - 16
        out[...] = q.view(np.int8)
        np.multiply(out, d, out=out)


class Q5_1(BlockFormat, qtype=T.Q5_1):
    """(d * q) + m; q: 5 bits laid out as in Q5_0."""
    block_fields = (("d", "<f2"), ("m", "<f2"), ("qh", "u1", 4), ("qs", "u1", 16))
    hip_family = "legacy"

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        m = f16_field(blocks, 2)
        out[...] = q5_codes(blocks, 4, 8)
        np.multiply(out, d, out=out)
        np.add(out, m, out=out)


class Q8_0(BlockFormat, qtype=T.Q8_0):
    """q * d; q: signed 8 bits."""
    block_fields = (("d", "<f2"), ("qs", "i1", 32))
    hip_family = "legacy"

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        out[...] = contiguous_bytes(blocks, 2, 34, np.int8)
        np.multiply(out, d, out=out)
