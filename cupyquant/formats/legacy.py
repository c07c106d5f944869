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
