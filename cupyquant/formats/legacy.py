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


def nibble_lut(offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Float32 value of the low and the high nibble of every byte, minus ``offset``."""
    b = np.arange(256)
    return ((b & 15) - offset).astype(np.float32), ((b >> 4) - offset).astype(np.float32)


class Q4_0(BlockFormat, qtype=T.Q4_0):
    """d * (q - 8); q: 4 bits. Bytes 0-15 of qs hold values 0-15 (low nibble)
    and 16-31 (high nibble)."""
    block_fields = (("d", "<f2"), ("qs", "u1", 16))
    hip_family = "legacy"
    _lo, _hi = nibble_lut(8)

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        qs = blocks[:, 2:18]
        out[:, :16] = self._lo[qs]
        out[:, 16:] = self._hi[qs]
        np.multiply(out, d, out=out)



def high_bit_lut() -> np.ndarray:
    """For every byte: 8 bytes, byte k = 16 * bit k (bit 4 of the values a
    Q5 qh byte covers), as one little-endian uint64 (np.take on whole bytes)."""
    b = np.arange(256)[:, None]
    return ((((b >> np.arange(8)) & 1) << 4).astype(np.uint8)).view("<u8").reshape(256)


def low_nibbles(qs: np.ndarray, tmp: np.ndarray) -> None:
    """The Q4_0 layout: tmp[:, j] = low nibble of qs[:, j] and
    tmp[:, 16 + j] = its high nibble (uint8, qs of shape (n, 16))."""
    np.bitwise_and(qs, 15, out=tmp[:, :16])
    np.right_shift(qs, 4, out=tmp[:, 16:])


class Q4_1(BlockFormat, qtype=T.Q4_1):
    """(d * q) + m; q: 4 bits laid out as in Q4_0."""
    block_fields = (("d", "<f2"), ("m", "<f2"), ("qs", "u1", 16))
    hip_family = "legacy"

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        m = f16_field(blocks, 2)
        q = np.empty((blocks.shape[0], 32), np.uint8)
        low_nibbles(blocks[:, 4:20], q)
        out[...] = q
        np.multiply(out, d, out=out)
        np.add(out, m, out=out)


class Q5_0(BlockFormat, qtype=T.Q5_0):
    """d * (q - 16); q: 5 bits, the low 4 as in Q4_0, bit 4 of value j is bit j
    of the little-endian 32-bit qh."""
    block_fields = (("d", "<f2"), ("qh", "u1", 4), ("qs", "u1", 16))
    hip_family = "legacy"
    _high = high_bit_lut()

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        q = np.empty((blocks.shape[0], 32), np.uint8)
        low_nibbles(blocks[:, 6:22], q)
        h = np.take(self._high, blocks[:, 2:6], mode="clip").view(np.uint8)
        np.bitwise_or(q, h, out=q)
        np.subtract(q, 16, out=q)          # wraps: read back as int8, q - 16
        out[...] = q.view(np.int8)
        np.multiply(out, d, out=out)


class Q5_1(BlockFormat, qtype=T.Q5_1):
    """(d * q) + m; q: 5 bits laid out as in Q5_0."""
    block_fields = (("d", "<f2"), ("m", "<f2"), ("qh", "u1", 4), ("qs", "u1", 16))
    hip_family = "legacy"
    _high = high_bit_lut()

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        m = f16_field(blocks, 2)
        q = np.empty((blocks.shape[0], 32), np.uint8)
        low_nibbles(blocks[:, 8:24], q)
        h = np.take(self._high, blocks[:, 4:8], mode="clip").view(np.uint8)
        np.bitwise_or(q, h, out=q)
        out[...] = q
        np.multiply(out, d, out=out)
        np.add(out, m, out=out)


class Q8_0(BlockFormat, qtype=T.Q8_0):
    """q * d; q: signed 8 bits."""
    block_fields = (("d", "<f2"), ("qs", "i1", 32))
    hip_family = "legacy"

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        out[...] = blocks[:, 2:34].view(np.int8)
        np.multiply(out, d, out=out)
