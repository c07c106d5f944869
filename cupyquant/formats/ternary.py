"""Ternary formats (values -1, 0, +1 times a float16 scale): TQ1_0, TQ2_0."""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T

from .base import BlockFormat
from .legacy import f16_field


class TQ1_0(BlockFormat, qtype=T.TQ1_0):
    """d * t, t in {-1, 0, 1}; five base-3 digits a byte. Digit k of byte b is
    ((b * 3**k mod 256) * 3 >> 8) - 1. qs[0:32] gives values 0-159 (digit k of
    byte j is value 32*k + j), qs[32:48] values 160-239 (160 + 16*k + j),
    qh[0:4] values 240-255 (240 + 4*k + j, four digits)."""
    block_fields = (("qs", "u1", 48), ("qh", "u1", 4), ("d", "<f2"))
    hip_family = "ternary"
    _pow5 = (3 ** np.arange(5, dtype=np.uint8)).reshape(5, 1)
    _pow4 = _pow5[:4]

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        d = f16_field(blocks, 52)
        z = np.empty((n, 256), np.uint8)
        # z = byte * 3**k mod 256 (uint8 arithmetic wraps), laid out like the values
        np.multiply(blocks[:, None, 0:32], self._pow5, out=z[:, :160].reshape(n, 5, 32))
        np.multiply(blocks[:, None, 32:48], self._pow5, out=z[:, 160:240].reshape(n, 5, 16))
        np.multiply(blocks[:, None, 48:52], self._pow4, out=z[:, 240:].reshape(n, 4, 4))
        # (z * 3) >> 8 is 0, 1 or 2: z >= 86 adds one, z >= 171 another, so
        # the digit minus one is (z >= 171) - (z < 86).
        hi = np.greater_equal(z, 171)
        lo = np.less(z, 86)
        np.subtract(hi.view(np.uint8), lo.view(np.uint8), out=z)  # wraps: int8 -1
        out[...] = z.view(np.int8)
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
        q = np.empty((n, 2, 4, 32), np.uint8)
        np.right_shift(blocks[:, :64].reshape(n, 2, 1, 32), self._shifts, out=q)
        np.bitwise_and(q, 3, out=q)
        np.subtract(q, 1, out=q)  # wraps: read back as int8, q - 1
        out[...] = q.reshape(n, 256).view(np.int8)
        np.multiply(out, d, out=out)
