"""Unquantized tensors: float32, float16 and bfloat16, one value a "block"."""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T

from .base import BlockFormat


class F32(BlockFormat, qtype=T.F32):
    """The stored float32, bits unchanged (NaN payloads included)."""
    block_fields = (("v", "<f4"),)
    hip_family = "floats"

    def decode_blocks(self, blocks, out):
        out[...] = blocks.view("<f4")


class F16(BlockFormat, qtype=T.F16):
    """The stored float16, widened exactly to float32."""
    block_fields = (("v", "<f2"),)
    hip_family = "floats"
    # NumPy's own widening of every float16 bit pattern: a lookup is about
    # twice as fast as the cast (the table, 256 KiB, stays in L2).
    _widen = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float32)

    def decode_blocks(self, blocks, out):
        np.take(self._widen, blocks.view("<u2"), out=out, mode="clip")


class BF16(BlockFormat, qtype=T.BF16):
    """The stored bfloat16: its 16 bits become the high half of a float32."""
    block_fields = (("v", "<u2"),)
    hip_family = "floats"

    def decode_blocks(self, blocks, out):
        bits = out.view(np.uint32)
        bits[...] = blocks.view("<u2")
        np.left_shift(bits, np.uint32(16), out=bits)
