"""Ternary formats (values -1, 0, +1 times a float16 scale): TQ1_0, TQ2_0.

The digit arithmetic runs on whole, contiguous chunks of blocks (one plane
per digit position, scale bytes included and ignored); the digits are then
moved into value order with copies of opaque byte runs (see legacy.py).
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T

from .base import BlockFormat
from .legacy import as_items, f16_field


class TQ1_0(BlockFormat, qtype=T.TQ1_0):
    """d * t, t in {-1, 0, 1}; five base-3 digits a byte. Digit k of byte b is
    ((b * 3**k mod 256) * 3 >> 8) - 1. qs[0:32] gives values 0-159 (digit k of
    byte j is value 32*k + j), qs[32:48] values 160-239 (160 + 16*k + j),
    qh[0:4] values 240-255 (240 + 4*k + j, four digits)."""
    block_fields = (("qs", "u1", 48), ("qh", "u1", 4), ("d", "<f2"))
    hip_family = "ternary"
    _pow3 = (3 ** np.arange(5, dtype=np.uint8)).reshape(5, 1)

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        d = f16_field(blocks, 52)
        flat = np.ascontiguousarray(blocks).reshape(1, -1)
        z = np.empty((5, flat.size), np.uint8)
        np.multiply(flat, self._pow3, out=z)      # byte * 3**k mod 256 (uint8 wraps)
        # (z * 3) >> 8 is 0, 1 or 2: z >= 86 adds one, z >= 171 another, so
        # the digit minus one is (z >= 171) - (z < 86).
        hi = np.greater_equal(z, 171)
        lo = np.less(z, 86)
        np.subtract(hi.view(np.uint8), lo.view(np.uint8), out=z)   # wraps: int8 -1
        z = z.reshape(5, n, 54)
        t = np.empty((n, 256), np.uint8)
        # value 32*k + j: plane k, byte j; 160 + 16*k + j: plane k, byte 32 + j;
        # 240 + 4*k + j: plane k, byte 48 + j
        t[:, :160].view("V32")[...] = as_items(z[:, :, 0:32]).T
        t[:, 160:240].view("V16")[...] = as_items(z[:, :, 32:48]).T
        t[:, 240:].view("V4")[...] = as_items(z[:4, :, 48:52]).T
        out[...] = t.view(np.int8)
        np.multiply(out, d, out=out)


class TQ2_0(BlockFormat, qtype=T.TQ2_0):
    """d * (q - 1), q: 2 bits. Value 128*h + 32*k + j is bits 2k, 2k+1 of
    qs[32*h + j]."""
    block_fields = (("qs", "u1", 64), ("d", "<f2"))
    hip_family = "ternary"
    _shifts = np.arange(0, 8, 2, dtype=np.uint8).reshape(4, 1)

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        d = f16_field(blocks, 64)
        flat = np.ascontiguousarray(blocks).reshape(1, -1)
        z = np.empty((4, flat.size), np.uint8)
        np.right_shift(flat, self._shifts, out=z)
        np.bitwise_and(z, 3, out=z)
        np.subtract(z, 1, out=z)                  # wraps: read back as int8, q - 1
        z = z.reshape(4, n, 66)
        t = np.empty((n, 2, 4, 32), np.uint8)
        # t[:, h, k] = plane k, bytes 32*h .. 32*h + 31
        t.view("V32")[:, :, :, 0] = as_items(z[:, :, :64].reshape(4, n, 2, 32)).transpose(1, 2, 0)
        out[...] = t.reshape(n, 256).view(np.int8)
        np.multiply(out, d, out=out)
