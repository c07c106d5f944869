"""The K-quant formats: 256-value super-blocks made of 16- or 32-value
sub-blocks, each sub-block with its own small integer scale (and minimum)
that multiplies a float16 super-block scale.

Every decoder first turns the packed sub-block scales into float32 per
sub-block factors, exactly as ``gguf.quants`` computes them, then fills
``out`` with the small integer quants as float32 through 256-entry byte
lookup tables (sums of such table values are small integers, so exact) and
finally applies the factors in place, with the reference's rounding order.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T

from .base import BlockFormat
from .legacy import f16_field

_BYTES = np.arange(256)


def _field_lut(shift: int, mask: int, scale: float = 1.0, offset: float = 0.0) -> np.ndarray:
    """Float32 ``((b >> shift) & mask) * scale + offset`` for every byte b (exact small values)."""
    return (((_BYTES >> shift) & mask) * scale + offset).astype(np.float32)


def _take(lut: np.ndarray, idx: np.ndarray, out: np.ndarray) -> None:
    # uint8 indices into a 256-entry table are always in range; 'wrap' skips
    # the bounds check and the buffering that mode='raise' imposes on out=.
    np.take(lut, idx, out=out, mode="wrap")


def _q45_scales(sc_bytes: np.ndarray, d: np.ndarray, dmin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_K/Q5_K: ``d * sc`` and ``dmin * m`` per 32-value sub-block, shape (n, 8, 1).

    The 12 scale bytes hold eight 6-bit scales and eight 6-bit minimums:
    sub-block i < 4 has scale ``b[i] & 63`` and minimum ``b[i+4] & 63``;
    sub-block i >= 4 has scale ``(b[i+4] & 15) | (b[i-4] >> 6) << 4`` and
    minimum ``(b[i+4] >> 4) | (b[i] >> 6) << 4``.
    """
    n = sc_bytes.shape[0]
    sc = np.empty((n, 2, 8), np.float32)   # [:, 0] scales, [:, 1] minimums
    lo = sc_bytes[:, 0:8].reshape(n, 2, 4)  # bytes 0-3 (scales), 4-7 (minimums)
    hi = sc_bytes[:, 8:12].reshape(n, 1, 4)
    _take(_LUT_LOW6, lo, sc[:, :, 0:4])
    _take(_LUT_TOP2_X16, lo, sc[:, :, 4:8])
    tmp = np.empty((n, 2, 4), np.float32)
    _take(_LUT_LOW4, hi, tmp[:, 0:1])
    _take(_LUT_HIGH4, hi, tmp[:, 1:2])
    np.add(sc[:, :, 4:8], tmp, out=sc[:, :, 4:8])  # small integers: exact
    np.multiply(sc[:, 0], d, out=sc[:, 0])
    np.multiply(sc[:, 1], dmin, out=sc[:, 1])
    return sc[:, 0, :, None], sc[:, 1, :, None]


_LUT_LOW6 = _field_lut(0, 63)
_LUT_TOP2_X16 = _field_lut(6, 3, 16.0)
_LUT_LOW4 = _field_lut(0, 15)
_LUT_HIGH4 = _field_lut(4, 15)
_LUT_CRUMB = tuple(_field_lut(2 * s, 3) for s in range(4))           # 2-bit field s
_LUT_NIBBLE = (_LUT_LOW4, _LUT_HIGH4)
_LUT_BIT_X16 = tuple(_field_lut(k, 1, 16.0) for k in range(8))       # bit k times 16
_LUT_Q3_HIGH = tuple(_field_lut(k, 1, 4.0, -4.0) for k in range(8))  # -4 where bit k is clear
_LUT_Q6_LOW = (_field_lut(0, 15, 1.0, -32.0), _field_lut(4, 15, 1.0, -32.0))
_LUT_Q6_HIGH = tuple(_field_lut(2 * s, 3, 16.0) for s in range(4))


class Q2_K(BlockFormat, qtype=T.Q2_K):
    """(d * (sc & 15)) * q - (dmin * (sc >> 4)); q: 2 bits, one scale byte per
    16 values. Value 128*h + 32*s + j is bits 2s..2s+1 of qs[32*h + j]."""
    block_fields = (("scales", "u1", 16), ("qs", "u1", 64), ("d", "<f2"), ("dmin", "<f2"))
    hip_family = "kquants"

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        d = f16_field(blocks, 80)
        dmin = f16_field(blocks, 82)
        sc = blocks[:, 0:16]
        fac = np.empty((2, n, 16), np.float32)
        _take(_LUT_LOW4, sc, fac[0])
        _take(_LUT_HIGH4, sc, fac[1])
        np.multiply(fac[0], d, out=fac[0])
        np.multiply(fac[1], dmin, out=fac[1])
        qs = blocks[:, 16:80].reshape(n, 2, 32)
        o = out.reshape(n, 2, 4, 32)
        for s in range(4):
            _take(_LUT_CRUMB[s], qs, o[:, :, s])
        o = out.reshape(n, 16, 16)
        np.multiply(o, fac[0, :, :, None], out=o)
        np.subtract(o, fac[1, :, :, None], out=o)


class Q3_K(BlockFormat, qtype=T.Q3_K):
    """(d * (sc - 32)) * q; q = low 2 bits - 4 (when the hmask bit is clear),
    one 6-bit scale per 16 values. Value 128*h + 32*s + j has its low bits at
    bits 2s..2s+1 of qs[32*h + j] and its high bit at bit 4h+s of hmask[j]."""
    block_fields = (("hmask", "u1", 32), ("qs", "u1", 64), ("scales", "u1", 12), ("d", "<f2"))
    hip_family = "kquants"

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        d = f16_field(blocks, 108)
        # scale i: low 4 bits from byte i (i < 8, low nibble) or i - 8 (high
        # nibble); high 2 bits are bits 2*(i//4).. of byte 8 + i % 4.
        sb = blocks[:, 96:108]
        fac = np.empty((n, 4, 4), np.float32)
        lo = sb[:, 0:8].reshape(n, 2, 4)
        _take(_LUT_LOW4, lo, fac[:, 0:2])
        _take(_LUT_HIGH4, lo, fac[:, 2:4])
        hi = np.empty((n, 4, 4), np.float32)
        hb = sb[:, 8:12]
        for s in range(4):
            _take(_LUT_Q3_SCALE_HIGH[s], hb, hi[:, s])
        np.add(fac, hi, out=fac)  # exact: (low | high << 4) - 32
        fac = fac.reshape(n, 16)
        np.multiply(fac, d, out=fac)
        qs = blocks[:, 32:96].reshape(n, 2, 32)
        hm = blocks[:, 0:32]
        o = out.reshape(n, 2, 4, 32)
        for s in range(4):
            _take(_LUT_CRUMB[s], qs, o[:, :, s])
        tmp = np.empty((n, 8, 32), np.float32)
        for k in range(8):
            _take(_LUT_Q3_HIGH[k], hm, tmp[:, k])
        o = out.reshape(n, 8, 32)
        np.add(o, tmp, out=o)  # exact small integers
        o = out.reshape(n, 16, 16)
        np.multiply(o, fac[:, :, None], out=o)


# high 2 bits of the Q3_K scales, times 16, minus the offset 32
_LUT_Q3_SCALE_HIGH = tuple(_field_lut(2 * s, 3, 16.0, -32.0) for s in range(4))


class Q4_K(BlockFormat, qtype=T.Q4_K):
    """(d * sc) * q - (dmin * m); q: 4 bits, 6-bit scale and minimum per 32
    values. Value 64*c + 32*s + j is nibble s of qs[32*c + j]."""
    block_fields = (("d", "<f2"), ("dmin", "<f2"), ("scales", "u1", 12), ("qs", "u1", 128))
    hip_family = "kquants"

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        dsc, dm = _q45_scales(blocks[:, 4:16], f16_field(blocks, 0), f16_field(blocks, 2))
        qs = blocks[:, 16:144].reshape(n, 4, 32)
        o = out.reshape(n, 4, 2, 32)
        _take(_LUT_LOW4, qs, o[:, :, 0])
        _take(_LUT_HIGH4, qs, o[:, :, 1])
        o = out.reshape(n, 8, 32)
        np.multiply(o, dsc, out=o)
        np.subtract(o, dm, out=o)


class Q5_K(BlockFormat, qtype=T.Q5_K):
    """As Q4_K with a fifth bit: bit k of qh[j] is bit 4 of value 32*k + j."""
    block_fields = (("d", "<f2"), ("dmin", "<f2"), ("scales", "u1", 12), ("qh", "u1", 32),
                    ("qs", "u1", 128))
    hip_family = "kquants"

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        dsc, dm = _q45_scales(blocks[:, 4:16], f16_field(blocks, 0), f16_field(blocks, 2))
        qh = blocks[:, 16:48]
        qs = blocks[:, 48:176].reshape(n, 4, 32)
        o = out.reshape(n, 4, 2, 32)
        _take(_LUT_LOW4, qs, o[:, :, 0])
        _take(_LUT_HIGH4, qs, o[:, :, 1])
        tmp = np.empty((n, 8, 32), np.float32)
        for k in range(8):
            _take(_LUT_BIT_X16[k], qh, tmp[:, k])
        o = out.reshape(n, 8, 32)
        np.add(o, tmp, out=o)  # exact small integers
        np.multiply(o, dsc, out=o)
        np.subtract(o, dm, out=o)


class Q6_K(BlockFormat, qtype=T.Q6_K):
    """(d * sc) * (q - 32); q: 6 bits, signed 8-bit scale per 16 values. In
    each half h of 128 values, value 128*h + 64*s + j (j < 64) has its low
    nibble in nibble s of ql[64*h + j], and value 128*h + 32*t + j (j < 32)
    its two high bits at bits 2t..2t+1 of qh[32*h + j]."""
    block_fields = (("ql", "u1", 128), ("qh", "u1", 64), ("scales", "i1", 16), ("d", "<f2"))
    hip_family = "kquants"

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        d = f16_field(blocks, 208)
        fac = blocks[:, 192:208].view(np.int8).astype(np.float32)
        np.multiply(fac, d, out=fac)
        ql = blocks[:, 0:128].reshape(n, 2, 64)
        qh = blocks[:, 128:192].reshape(n, 2, 32)
        o = out.reshape(n, 2, 2, 64)
        _take(_LUT_Q6_LOW[0], ql, o[:, :, 0])
        _take(_LUT_Q6_LOW[1], ql, o[:, :, 1])
        o = out.reshape(n, 2, 4, 32)
        tmp = np.empty((n, 2, 4, 32), np.float32)
        for t in range(4):
            _take(_LUT_Q6_HIGH[t], qh, tmp[:, :, t])
        np.add(o, tmp, out=o)  # exact small integers
        o = out.reshape(n, 16, 16)
        np.multiply(o, fac[:, :, None], out=o)
