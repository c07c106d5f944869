"""The K-quant formats: 256-value super-blocks made of 16- or 32-value
sub-blocks, each sub-block with its own small integer scale (and minimum)
that multiplies a float16 super-block scale.

Every decoder works in three steps, each a handful of whole-chunk NumPy
operations:

1. the per-sub-block float32 factors (``d * sc``, ``dmin * m``), computed
   exactly as ``gguf.quants`` computes them;
2. the integer quants of the chunk, unpacked with bit operations on uint8 or
   uint64 words (eight quants a word), then converted to float32 in ``out``
   with a single cast (exact: they are small integers);
3. the factors applied in place, each repeated to the full chunk width so
   that the multiply and subtract run on plain contiguous arrays, in the
   reference's order with a rounding after each operation.

The word-wise bit operations read the block bytes as little-endian words,
as the float16 fields are read everywhere: a little-endian host is assumed.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T

from .base import BlockFormat

_U64 = np.uint64


def _bytes8(mask: int) -> np.uint64:
    """``mask`` repeated in every byte of a uint64 word."""
    return _U64(mask * 0x0101010101010101)


_M1, _M3, _M15 = _bytes8(0x01), _bytes8(0x03), _bytes8(0x0F)


def _words(raw: np.ndarray, dtype=np.uint64) -> np.ndarray:
    """The bytes of ``raw`` (n, k) as little-endian words, shape (n, k // size)."""
    return np.ascontiguousarray(raw).view(dtype)


def _f16_pair(blocks: np.ndarray, offset: int, count: int) -> np.ndarray:
    """``count`` consecutive float16 fields at ``offset``, as float32 of shape (n, count, 1)."""
    raw = np.ascontiguousarray(blocks[:, offset:offset + 2 * count])
    return raw.view(np.float16).astype(np.float32)[:, :, None]


def _apply(out: np.ndarray, scale: np.ndarray, minimum: np.ndarray | None = None) -> None:
    """``out = out * scale [- minimum]`` where ``scale`` and ``minimum``
    (n, groups) hold one factor per group of consecutive values of a row."""
    flat = out.reshape(-1)
    width = flat.size // scale.size
    np.multiply(flat, np.repeat(scale.reshape(-1), width), out=flat)
    if minimum is not None:
        np.subtract(flat, np.repeat(minimum.reshape(-1), width), out=flat)


def _bit_planes(raw: np.ndarray, shift_to: int) -> np.ndarray:
    """Bit k of byte j of each row of ``raw`` (n, 32), moved to bit ``shift_to``,
    as uint8 of shape (8, n, 32): plane k holds the bit for value 32*k + j."""
    n = raw.shape[0]
    w = _words(raw)  # (n, 4)
    planes = np.right_shift(w[None], _BIT_SHIFTS)  # (8, n, 4), contiguous
    np.bitwise_and(planes, _M1, out=planes)
    if shift_to:
        np.left_shift(planes, _U64(shift_to), out=planes)
    return planes.view(np.uint8).reshape(8, n, 32)


_BIT_SHIFTS = np.arange(8, dtype=np.uint64).reshape(8, 1, 1)


def _q45_factors(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_K/Q5_K: ``d * sc`` and ``dmin * m`` per 32-value sub-block, each (n, 8).

    The 12 scale bytes b hold eight 6-bit scales and eight 6-bit minimums:
    sub-block i < 4 has scale ``b[i] & 63`` and minimum ``b[i+4] & 63``;
    sub-block i >= 4 has scale ``(b[i+4] & 15) | (b[i-4] >> 6) << 4`` and
    minimum ``(b[i+4] >> 4) | (b[i] >> 6) << 4``. Worked on four bytes at
    once as uint32 words: word 0 is b[0:4], word 1 b[4:8], word 2 b[8:12].
    """
    n = blocks.shape[0]
    w = _words(blocks[:, 4:16], np.uint32)            # (n, 3)
    r = np.empty((n, 2, 2), np.uint32)                # [low/high sub-blocks][scale/min]
    np.bitwise_and(w[:, 0:2], np.uint32(0x3F3F3F3F), out=r[:, 0])
    top = np.right_shift(w[:, 0:2], np.uint32(2))
    np.bitwise_and(top, np.uint32(0x30303030), out=top)
    low = np.right_shift(w[:, 2:3], _NIBBLE_SHIFTS32)  # (n, 2): scale / min low nibbles
    np.bitwise_and(low, np.uint32(0x0F0F0F0F), out=low)
    np.bitwise_or(top, low, out=r[:, 1])
    fac = np.empty((n, 2, 2, 4), np.float32)           # [scale/min][low/high][4]
    np.copyto(fac, r.view(np.uint8).reshape(n, 2, 2, 4).transpose(0, 2, 1, 3))
    fac = fac.reshape(n, 2, 8)
    np.multiply(fac, _f16_pair(blocks, 0, 2), out=fac)  # d * sc, dmin * m
    return fac[:, 0], fac[:, 1]


_NIBBLE_SHIFTS32 = np.array([0, 4], dtype=np.uint32)


def _nibbles_into(q8: np.ndarray, qs: np.ndarray) -> None:
    """Low and high nibbles of qs (n, c, 32) into q8 (n, c, 2, 32) uint8."""
    w = _words(qs.reshape(qs.shape[0], -1)).reshape(qs.shape[0], qs.shape[1], -1)
    q8w = q8.view(np.uint64)  # (n, c, 2, 4)
    np.bitwise_and(w, _M15, out=q8w[:, :, 0])
    hi = np.right_shift(w, _U64(4))
    np.bitwise_and(hi, _M15, out=q8w[:, :, 1])


def _crumbs_into(q8w: np.ndarray, w: np.ndarray) -> None:
    """The four 2-bit fields of every byte: word ``w[..., i]`` (8 bytes) gives
    ``q8w[..., s, i]`` = bits 2s..2s+1 of each byte (uint64 views)."""
    np.bitwise_and(w, _M3, out=q8w[..., 0, :])
    tmp = np.empty_like(w)
    for s in range(1, 4):
        np.right_shift(w, _U64(2 * s), out=tmp)
        np.bitwise_and(tmp, _M3, out=q8w[..., s, :])


class Q2_K(BlockFormat, qtype=T.Q2_K):
    """(d * (sc & 15)) * q - (dmin * (sc >> 4)); q: 2 bits, one scale byte per
    16 values. Value 128*h + 32*s + j is bits 2s..2s+1 of qs[32*h + j]."""
    block_fields = (("scales", "u1", 16), ("qs", "u1", 64), ("d", "<f2"), ("dmin", "<f2"))
    hip_family = "kquants"

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        sc = blocks[:, 0:16]
        f8 = np.empty((n, 2, 16), np.uint8)
        np.bitwise_and(sc, 15, out=f8[:, 0])
        np.right_shift(sc, 4, out=f8[:, 1])
        fac = f8.astype(np.float32)
        np.multiply(fac, _f16_pair(blocks, 80, 2), out=fac)  # d * sc, dmin * m
        q8 = np.empty((n, 256), np.uint8)
        _crumbs_into(q8.view(np.uint64).reshape(n, 2, 4, 4), _words(blocks[:, 16:80]).reshape(n, 2, 4))
        np.copyto(out, q8)
        _apply(out, fac[:, 0], fac[:, 1])


class Q3_K(BlockFormat, qtype=T.Q3_K):
    """(d * (sc - 32)) * q; q = low 2 bits - 4 (when the hmask bit is clear),
    one 6-bit scale per 16 values. Value 128*h + 32*s + j has its low bits at
    bits 2s..2s+1 of qs[32*h + j] and its high bit at bit 4h+s of hmask[j].
    Scale i has its low nibble in byte i (i < 8) or the high nibble of byte
    i - 8, and its top two bits at bits 2*(i//4) of byte 8 + i%4."""
    block_fields = (("hmask", "u1", 32), ("qs", "u1", 64), ("scales", "u1", 12), ("d", "<f2"))
    hip_family = "kquants"

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        w = _words(blocks[:, 96:108], np.uint32).astype(np.uint64)  # (n, 3)
        r = np.empty((n, 2, 2), np.uint64)       # scales 0-3, 4-7, 8-11, 12-15
        np.bitwise_and(w[:, 0:2], _bytes8(0x0F), out=r[:, 0])
        np.right_shift(w[:, 0:2], _U64(4), out=r[:, 1])
        np.bitwise_and(r[:, 1], _bytes8(0x0F), out=r[:, 1])
        r = r.reshape(n, 4)
        top = np.right_shift(w[:, 2:3] << _U64(4), _Q3_TOP_SHIFTS)  # (n, 4)
        np.bitwise_and(top, _bytes8(0x30), out=top)
        np.bitwise_or(r, top, out=r)
        s8 = r.astype(np.uint32).view(np.uint8)   # (n, 16): sc in 0..63
        np.subtract(s8, np.uint8(32), out=s8)     # wraps: int8 sc - 32
        fac = s8.view(np.int8).astype(np.float32)
        np.multiply(fac, _f16_pair(blocks, 108, 1)[:, :, 0], out=fac)
        q8 = np.empty((n, 8, 32), np.uint8)
        _crumbs_into(q8.view(np.uint64).reshape(n, 2, 4, 4), _words(blocks[:, 32:96]).reshape(n, 2, 4))
        hb = _bit_planes(blocks[:, 0:32], 2)     # (8, n, 32): 4 where the hmask bit is set
        np.bitwise_or(q8, hb.transpose(1, 0, 2), out=q8)
        np.subtract(q8, np.uint8(4), out=q8)      # wraps: int8 q - 4
        np.copyto(out, q8.view(np.int8).reshape(n, 256))
        _apply(out, fac)


_Q3_TOP_SHIFTS = np.array([0, 2, 4, 6], dtype=np.uint64)


class _Q45K(BlockFormat):
    """Q4_K and Q5_K: (d * sc) * q - (dmin * m), 6-bit scale and minimum per
    32 values; the nibbles start at byte ``qs_start``. Value 64*c + 32*s + j
    has its low 4 bits in nibble s of qs[32*c + j]."""
    hip_family = "kquants"
    qs_start = 16

    def high_bits(self, blocks, q8) -> None:
        """OR any bits above the nibble into q8 (n, 8, 32); Q4_K has none."""

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        dsc, dm = _q45_factors(blocks)
        q8 = np.empty((n, 4, 2, 32), np.uint8)
        _nibbles_into(q8, blocks[:, self.qs_start:self.qs_start + 128].reshape(n, 4, 32))
        self.high_bits(blocks, q8.reshape(n, 8, 32))
        np.copyto(out, q8.reshape(n, 256))
        _apply(out, dsc, dm)


class Q4_K(_Q45K, qtype=T.Q4_K):
    """q: 4 bits."""
    block_fields = (("d", "<f2"), ("dmin", "<f2"), ("scales", "u1", 12), ("qs", "u1", 128))


class Q5_K(_Q45K, qtype=T.Q5_K):
    """As Q4_K with a fifth bit: bit k of qh[j] is bit 4 of value 32*k + j."""
    block_fields = (("d", "<f2"), ("dmin", "<f2"), ("scales", "u1", 12), ("qh", "u1", 32),
                    ("qs", "u1", 128))
    qs_start = 48

    def high_bits(self, blocks, q8) -> None:
        np.bitwise_or(q8, _bit_planes(blocks[:, 16:48], 4).transpose(1, 0, 2), out=q8)


class Q6_K(BlockFormat, qtype=T.Q6_K):
    """(d * sc) * (q - 32); q: 6 bits, signed 8-bit scale per 16 values. In
    each half h of 128 values, value 128*h + 64*s + j (j < 64) has its low
    nibble in nibble s of ql[64*h + j], and value 128*h + 32*t + j (j < 32)
    its two high bits at bits 2t..2t+1 of qh[32*h + j]."""
    block_fields = (("ql", "u1", 128), ("qh", "u1", 64), ("scales", "i1", 16), ("d", "<f2"))
    hip_family = "kquants"

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        fac = blocks[:, 192:208].view(np.int8).astype(np.float32)
        np.multiply(fac, _f16_pair(blocks, 208, 1)[:, :, 0], out=fac)
        q8 = np.empty((n, 2, 2, 64), np.uint8)
        _nibbles_into(q8, blocks[:, 0:128].reshape(n, 2, 64))
        hi = np.empty((n, 2, 4, 4), np.uint64)    # [h][t][8-byte word of j]
        _crumbs_into(hi, _words(blocks[:, 128:192]).reshape(n, 2, 4))
        np.left_shift(hi, _U64(4), out=hi)
        q8w = q8.view(np.uint64).reshape(n, 2, 4, 4)
        np.bitwise_or(q8w, hi, out=q8w)
        np.subtract(q8, np.uint8(32), out=q8)     # wraps: int8 q - 32
        np.copyto(out, q8.view(np.int8).reshape(n, 256))
        _apply(out, fac)
