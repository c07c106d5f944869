"""The codebook ("grid") i-quants: IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S,
IQ3_XXS, IQ3_S. 256 values a block; each group of 8 (or 4) values is one row
of a fixed codebook, with per-value signs and a small per-sub-block scale
that multiplies a float16 block scale.

The codebooks and the 128-entry sign table (``ksigns``: 7 sign bits plus an
even-parity eighth) are taken at run time from ``gguf.quants``. ``tables()``
is the compact device layout, one uint8 array per format (its first use
builds it; the same object every call):

* IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M: the grid as rows of 8 bytes (one
  8-byte load a row), IQ1's as int8 (-1, 0, 1), the others as uint8 (all
  entries are below 128, so the host reads every grid as int8).
* IQ3_XXS, IQ3_S: the grid as rows of 4 bytes (one 4-byte load a row).
* IQ2_XXS, IQ2_XS, IQ3_XXS: ``ksigns`` (128 bytes) right after the grid, at
  byte ``rows * width``. IQ2_S and IQ3_S store their sign bytes in the block.

The offsets are mirrored in cupyquant/hip/iquants.hip.

Host decoding (tables built from ``tables()`` on first use, about 5 MB for
all seven formats) folds the signs (and IQ1's delta) into expanded float32
tables: one ``np.take`` of whole 8- or 4-value rows gives the signed codebook
values, one multiply by the sub-block factor (computed in the reference's
order) scales them. Folding is exact: ``(db * g) * -1 == db * (-g)`` bit for
bit (round-to-nearest is symmetric) and ``g + delta`` is exact in float32.
The row indices are assembled from lookup tables on whole bytes (or 14-bit
sign-index pairs, or whole 16-bit words), with every NumPy operation on
contiguous runs: NumPy's cost is per operation and per inner loop, not per
element, at these sizes.
"""

from __future__ import annotations

import threading

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants as gq

from .base import BlockFormat
from .legacy import as_items, contiguous_bytes, f16_field

_LOCK = threading.RLock()
_B = np.arange(256, dtype=np.uint32)          # every byte value
_NIB = np.arange(16, dtype=np.uint32)


def _gguf_grid(cls) -> np.ndarray:
    """gguf's codebook for ``cls`` as int8 rows (its entries are small integers)."""
    cls.init_grid()
    g = np.asarray(cls.grid, dtype=np.float32).reshape(cls.grid_shape)
    q = g.astype(np.int8)
    if not np.array_equal(q.astype(np.float32), g):
        raise AssertionError(f"{cls.__name__}: codebook entries are not small integers")
    return q


def _signs(patterns: np.ndarray, width: int) -> np.ndarray:
    """+1.0 / -1.0 (float32) for bits 0..width-1 of each pattern: (len, width)."""
    bits = (np.asarray(patterns, np.uint32)[:, None] >> np.arange(width, dtype=np.uint32)) & 1
    return np.where(bits == 0, np.float32(1), np.float32(-1)).astype(np.float32)


def _rows(table: np.ndarray) -> np.ndarray:
    """A float32 (rows, w) table as one opaque item a row (np.take moves whole rows)."""
    t = np.ascontiguousarray(table, dtype=np.float32)
    return t.view(f"V{4 * t.shape[-1]}").reshape(t.shape[0])


def _u16s(values) -> np.ndarray:
    """(256, k) small integers as one little-endian item of k uint16 a row."""
    v = np.ascontiguousarray(np.asarray(values).astype(np.uint16))
    k = v.shape[1]
    return v.view({1: "<u2", 2: "<u4", 4: "<u8"}.get(k, f"V{2 * k}")).reshape(v.shape[0])


def _scale_pairs(fn) -> np.ndarray:
    """For every byte: the float32 ``fn(low nibble)``, ``fn(high nibble)`` as one uint64."""
    f = np.empty((256, 2), np.float32)
    f[:, 0] = fn((_B & 15).astype(np.float32))
    f[:, 1] = fn((_B >> 4).astype(np.float32))
    return f.view(np.uint64).reshape(256)


def _apply(out: np.ndarray, scale: np.ndarray) -> None:
    """out *= scale, ``scale`` (n, groups) one factor per run of consecutive values."""
    flat = out.reshape(-1)
    width = flat.size // scale.size
    np.multiply(flat, np.repeat(scale.reshape(-1), width), out=flat)


_HALF = np.float32(0.5)
_QUARTER = np.float32(0.25)


class _GridFormat(BlockFormat):
    """A codebook format: the compact tables and the lazily built host tables."""
    _gguf: type                  # the gguf.quants class holding the codebook
    _ksigns: bool = False        # whether tables() carries ksigns after the grid

    def tables(self) -> np.ndarray:
        t = self.__dict__.get("_tables")
        if t is None:
            with _LOCK:
                t = self.__dict__.get("_tables")
                if t is None:
                    parts = [_gguf_grid(self._gguf).view(np.uint8).reshape(-1)]
                    if self._ksigns:
                        parts.append(np.frombuffer(gq.IQ2_XXS.ksigns, dtype=np.uint8))
                    t = np.ascontiguousarray(np.concatenate(parts), dtype=np.uint8)
                    t.flags.writeable = False
                    self.__dict__["_tables"] = t
        return t

    @property
    def grid_shape(self) -> tuple[int, int]:
        return tuple(self._gguf.grid_shape)

    def grid(self) -> np.ndarray:
        """The codebook from ``tables()`` as float32 (rows, width)."""
        rows, width = self.grid_shape
        return self.tables()[:rows * width].view(np.int8).reshape(rows, width).astype(np.float32)

    def ksigns(self) -> np.ndarray:
        rows, width = self.grid_shape
        return self.tables()[rows * width:rows * width + 128]

    def host(self) -> dict:
        h = self.__dict__.get("_host")
        if h is None:
            with _LOCK:
                h = self.__dict__.get("_host")
                if h is None:
                    h = self._build_host()
                    self.__dict__["_host"] = h
        return h

    def _build_host(self) -> dict:
        raise NotImplementedError


# ----------------------------------------------------------------------- IQ2
class _IQ2Signed(_GridFormat):
    """IQ2_XXS/IQ2_XS: signed rows indexed ``g | s << bits(g)`` (s: ksigns index)."""

    def _build_host(self):
        grid = self.grid()                                          # (G, 8)
        signed = _signs(self.ksigns(), 8)[:, None, :] * grid[None]  # (128, G, 8)
        # (0.5 + s) for s = 0..15 (exact)
        return {"rows": _rows(signed.reshape(-1, 8)),
                "half_plus": (_HALF + np.arange(16, dtype=np.float32)).astype(np.float32)}


def _sign_keys(a: np.ndarray) -> np.ndarray:
    """Split 28-bit fields ``a`` (uint64 < 2**32 holding four 7-bit sign
    indices) into two 14-bit keys each (indices 0-1, then 2-3), as uint32 of
    shape (..., 2): bits 0-13 stay, bits 14-27 move to bit 32."""
    t = np.left_shift(a, np.uint64(18))
    np.bitwise_or(t, a, out=t)
    np.bitwise_and(t, np.uint64(0x00003FFF00003FFF), out=t)
    return t.view(np.uint32)


def _pair_keys() -> tuple[np.ndarray, np.ndarray]:
    """For every 14-bit key: the two 7-bit sign indices it holds."""
    k = np.arange(1 << 14, dtype=np.uint64)
    return k & 127, k >> 7


class IQ2_XXS(_IQ2Signed, qtype=T.IQ2_XXS):
    """8 sub-blocks of 32 values, each two little-endian uint32 (a0, a1): byte j
    of a0 is the grid row (256 x 8) of values 8j..8j+7, bits 7j..7j+6 of a1 the
    ksigns index of their signs, a1 >> 28 the scale s;
    x = ((d * (0.5 + s)) * 0.25) * grid * sign."""
    block_fields = (("d", "<f2"), ("qs", "<u2", 32))
    hip_family = "iquants"
    _gguf = gq.IQ2_XXS
    _ksigns = True

    def _build_host(self):
        h = super()._build_host()
        s0, s1 = _pair_keys()     # row index g | s << 8: the s parts, two uint16 lanes
        h["s"] = ((s0 << 8) | (s1 << 24)).astype(np.uint32)
        return h

    def decode_blocks(self, blocks, out):
        h = self.host()
        n = blocks.shape[0]
        w = contiguous_bytes(blocks, 2, 66).view(np.uint64)       # (n, 8): a0 | a1 << 32
        a1 = np.right_shift(w, np.uint64(32))
        sp = np.take(h["s"], _sign_keys(a1), mode="clip").view(np.uint16)   # (n, 32)
        g = np.empty((n, 32), np.uint8)                            # the a0 bytes
        g.view("V4")[...] = as_items(w.view(np.uint8).reshape(n, 8, 8)[:, :, :4])
        idx = np.empty((n, 32), np.intp)
        np.bitwise_or(sp, g, out=idx)
        np.take(h["rows"], idx, out=out.view("V32"), mode="clip")
        np.right_shift(a1, np.uint64(28), out=a1)
        db = np.take(h["half_plus"], a1, mode="clip")             # (n, 8)
        np.multiply(f16_field(blocks, 0), db, out=db)
        np.multiply(db, _QUARTER, out=db)
        _apply(out, db)


class IQ2_XS(_IQ2Signed, qtype=T.IQ2_XS):
    """32 little-endian uint16 q (one per 8 values): q & 511 the grid row
    (512 x 8), q >> 9 the ksigns index; scales[8]: nibble k (low first) is the
    scale s of values 16k..16k+15; x = ((d * (0.5 + s)) * 0.25) * grid * sign."""
    block_fields = (("d", "<f2"), ("qs", "<u2", 32), ("scales", "u1", 8))
    hip_family = "iquants"
    _gguf = gq.IQ2_XS
    _ksigns = True

    def _build_host(self):
        h = super()._build_host()
        h["scales"] = _scale_pairs(lambda s: _HALF + s)
        return h

    def decode_blocks(self, blocks, out):
        h = self.host()
        q = contiguous_bytes(blocks, 2, 66).view(np.uint16)     # the row index itself
        np.take(h["rows"], q.astype(np.intp), out=out.view("V32"), mode="clip")
        db = np.take(h["scales"], blocks[:, 66:74], mode="clip").view(np.float32)  # (n, 16)
        np.multiply(db, f16_field(blocks, 0), out=db)
        np.multiply(db, _QUARTER, out=db)
        _apply(out, db)


class IQ2_S(_GridFormat, qtype=T.IQ2_S):
    """32 groups of 8 values: grid row qs[g] | (bits 2(g%4).. of qh[g/4]) << 8
    (1024 x 8), signs bit i of signs[g]; scales[8]: nibble k (low first) is the
    scale s of values 16k..16k+15; x = ((d * (0.5 + s)) * 0.25) * grid * sign."""
    block_fields = (("d", "<f2"), ("qs", "u1", 32), ("signs", "u1", 32), ("qh", "u1", 8),
                    ("scales", "u1", 8))
    hip_family = "iquants"
    _gguf = gq.IQ2_S

    def _build_host(self):
        # Rows of 4: value half h of grid row g with sign nibble m, at index
        # g | h << 10 | m << 11.
        grid = self.grid().reshape(1024, 2, 4).transpose(1, 0, 2)   # (2, 1024, 4)
        signed = _signs(_NIB, 4)[:, None, None, :] * grid[None]      # (16, 2, 1024, 4)
        # per qh byte: 4 uint32, crumb k << 8 in both halves
        crumbs = ((_B[:, None] >> (2 * np.arange(4, dtype=np.uint32))) & 3) << 8
        qh_lut = np.ascontiguousarray((crumbs * 0x10001).astype(np.uint32)).view("V16").reshape(256)
        # per sign byte: half 0 gets low nibble << 11, half 1 gets 1 << 10 | high nibble << 11
        s_lut = (((_B & 15) << 11) | ((1 << 10 | (_B >> 4) << 11) << 16)).astype(np.uint32)
        return {"rows": _rows(signed.reshape(-1, 4)), "qh": qh_lut, "s": s_lut,
                "scales": _scale_pairs(lambda s: _HALF + s)}

    def decode_blocks(self, blocks, out):
        h = self.host()
        idx = np.multiply(blocks[:, 2:34], np.uint32(0x10001), dtype=np.uint32)  # both halves
        hi = np.take(h["qh"], blocks[:, 66:74], mode="clip").view(np.uint32)
        np.bitwise_or(idx, hi, out=idx)
        np.bitwise_or(idx, np.take(h["s"], blocks[:, 34:66], mode="clip"), out=idx)
        np.take(h["rows"], idx.view(np.uint16).astype(np.intp), out=out.view("V16"), mode="clip")
        db = np.take(h["scales"], blocks[:, 74:82], mode="clip").view(np.float32)  # (n, 16)
        np.multiply(db, f16_field(blocks, 0), out=db)
        np.multiply(db, _QUARTER, out=db)
        _apply(out, db)


# ----------------------------------------------------------------------- IQ3
class IQ3_XXS(_GridFormat, qtype=T.IQ3_XXS):
    """qs[64]: one grid row (256 x 4) per 4 values; then 8 little-endian uint32
    a, one per 32 values: bits 7j..7j+6 the ksigns index of values 8j..8j+7
    (low nibble for the first row, high for the second), a >> 28 the scale s;
    x = ((d * (0.5 + s)) * 0.5) * grid * sign."""
    block_fields = (("d", "<f2"), ("qs", "u1", 64), ("scales", "<u4", 8))
    hip_family = "iquants"
    _gguf = gq.IQ3_XXS
    _ksigns = True

    def _build_host(self):
        grid = self.grid()                                        # (256, 4)
        signed = _signs(_NIB, 4)[:, None, :] * grid[None]         # (16, 256, 4): g | m << 8
        ks = self.ksigns().astype(np.uint64)
        s0, s1 = _pair_keys()
        # per 14-bit key: the m << 8 parts of four rows, as four uint16 lanes
        lanes = ((ks[s0] & 15) << 8, (ks[s0] >> 4) << 8, (ks[s1] & 15) << 8, (ks[s1] >> 4) << 8)
        s_lut = np.zeros(1 << 14, np.uint64)
        for i, lane in enumerate(lanes):
            s_lut |= lane << np.uint64(16 * i)
        return {"rows": _rows(signed.reshape(-1, 4)), "s": s_lut,
                "half_plus": (_HALF + np.arange(16, dtype=np.float32)).astype(np.float32)}

    def decode_blocks(self, blocks, out):
        h = self.host()
        n = blocks.shape[0]
        a = contiguous_bytes(blocks, 66, 98).view(np.uint32).astype(np.uint64)  # (n, 8)
        sp = np.take(h["s"], _sign_keys(a), mode="clip").view(np.uint16)       # (n, 64)
        idx = np.empty((n, 64), np.intp)
        np.bitwise_or(blocks[:, 2:66], sp, out=idx)
        np.take(h["rows"], idx, out=out.view("V16"), mode="clip")
        np.right_shift(a, np.uint64(28), out=a)
        db = np.take(h["half_plus"], a, mode="clip")
        np.multiply(f16_field(blocks, 0), db, out=db)
        np.multiply(db, _HALF, out=db)
        _apply(out, db)


class IQ3_S(_GridFormat, qtype=T.IQ3_S):
    """qs[64]: grid row (512 x 4) of values 4k..4k+3 is qs[k] | (bit k%8 of
    qh[k/8]) << 8; signs[32]: bit i of signs[g] the sign of value 8g + i;
    scales[4]: nibble k (low first) is the scale s of values 32k..32k+31;
    x = (d * (1 + 2s)) * grid * sign."""
    block_fields = (("d", "<f2"), ("qs", "u1", 64), ("qh", "u1", 8), ("signs", "u1", 32),
                    ("scales", "u1", 4))
    hip_family = "iquants"
    _gguf = gq.IQ3_S

    def _build_host(self):
        grid = self.grid()                                        # (512, 4)
        signed = _signs(_NIB, 4)[:, None, :] * grid[None]         # (16, 512, 4): g | m << 9
        qh_bits = ((_B[:, None] >> np.arange(8, dtype=np.uint32)) & 1) << 8
        s_pairs = np.stack([(_B & 15) << 9, (_B >> 4) << 9], axis=1)
        return {"rows": _rows(signed.reshape(-1, 4)), "qh": _u16s(qh_bits), "s": _u16s(s_pairs),
                "scales": _scale_pairs(lambda s: np.float32(1) + np.float32(2) * s)}

    def decode_blocks(self, blocks, out):
        h = self.host()
        n = blocks.shape[0]
        hb = np.take(h["qh"], blocks[:, 66:74], mode="clip").view(np.uint16)   # (n, 64)
        np.bitwise_or(hb, np.take(h["s"], blocks[:, 74:106], mode="clip").view(np.uint16), out=hb)
        idx = np.empty((n, 64), np.intp)
        np.bitwise_or(blocks[:, 2:66], hb, out=idx)
        np.take(h["rows"], idx, out=out.view("V16"), mode="clip")
        db = np.take(h["scales"], blocks[:, 106:110], mode="clip").view(np.float32)  # (n, 8)
        np.multiply(db, f16_field(blocks, 0), out=db)
        _apply(out, db)


# ----------------------------------------------------------------------- IQ1
class _IQ1(_GridFormat):
    """IQ1_S/IQ1_M: rows of grid + delta (+-0.125) indexed g | (delta < 0) << 11."""
    _gguf = gq.IQ1_S

    def _build_host(self):
        grid = self.grid()                                          # (2048, 8)
        delta = np.float32(self._gguf.delta)
        rows = np.stack([grid + delta, grid + (-delta)])            # (2, 2048, 8), exact
        return {"rows": _rows(rows.reshape(-1, 8)),
                "odd": (np.float32(2) * (np.arange(16) & 7) + np.float32(1)).astype(np.float32)}


class IQ1_S(_IQ1, qtype=T.IQ1_S):
    """qs[32]: byte 4i+j the low 8 bits of the grid row (2048 x 8) of values
    32i+8j..+7; qh: 8 little-endian uint16, qh[i] bits 3j..3j+2 the row's high
    bits, bits 12-14 the scale s, bit 15 the sign of delta;
    x = (d * (2s + 1)) * (grid + delta), delta = +-0.125."""
    block_fields = (("d", "<f2"), ("qs", "u1", 32), ("qh", "<u2", 8))
    hip_family = "iquants"

    def _build_host(self):
        h = super()._build_host()
        v = np.arange(1 << 16, dtype=np.uint32)[:, None]
        hi = (((v >> (3 * np.arange(4, dtype=np.uint32))) & 7) << 8) | ((v >> 15) << 11)
        h["qh"] = np.ascontiguousarray(hi.astype(np.uint16)).view("<u8").reshape(1 << 16)
        return h

    def decode_blocks(self, blocks, out):
        h = self.host()
        n = blocks.shape[0]
        qh = contiguous_bytes(blocks, 34, 50).view(np.uint16)     # (n, 8)
        hi = np.take(h["qh"], qh, mode="clip").view(np.uint16)    # (n, 32)
        idx = np.empty((n, 32), np.intp)
        np.bitwise_or(blocks[:, 2:34], hi, out=idx)
        np.take(h["rows"], idx, out=out.view("V32"), mode="clip")
        dl = np.take(h["odd"], np.right_shift(qh, np.uint16(12)), mode="clip")
        np.multiply(f16_field(blocks, 0), dl, out=dl)
        _apply(out, dl)


class IQ1_M(_IQ1, qtype=T.IQ1_M):
    """qs[32]: low 8 bits of the grid row (2048 x 8) of values 8g..8g+7; qh[16]:
    nibble g%2 of qh[g/2] holds the row's high 3 bits and (bit 3) the sign of
    delta; scales: 4 little-endian uint16 w, bits 3k..3k+2 of w[i] the scale s
    of values 64i+16k..+15, and the top nibbles of w[0..3] the four nibbles
    (low first) of the float16 d; x = (d * (2s + 1)) * (grid + delta)."""
    block_fields = (("qs", "u1", 32), ("qh", "u1", 16), ("scales", "<u2", 4))
    hip_family = "iquants"
    _gguf = gq.IQ1_M
    # The top nibble of 16-bit lane k of the scales word (bit 16k + 12)
    # multiplied by 2**(36 - 12k) lands at bit 48 + 4k; every other partial
    # product falls in a distinct nibble below bit 48 or beyond bit 63, so
    # (word & _D_MASK) * _D_GATHER >> 48 is the float16 d, without carries.
    _D_MASK = np.uint64(0xF000F000F000F000)
    _D_GATHER = np.uint64((1 << 36) + (1 << 24) + (1 << 12) + 1)

    def _build_host(self):
        h = super()._build_host()
        h["qh"] = _u16s(np.stack([(_B & 15) << 8, (_B >> 4) << 8], axis=1))
        # per low 12 bits of a scales word: its four 2s + 1, as float32
        k = np.arange(1 << 12, dtype=np.uint32)[:, None]
        odd = np.float32(2) * ((k >> (3 * np.arange(4, dtype=np.uint32))) & 7) + np.float32(1)
        h["odd4"] = _rows(odd.astype(np.float32))
        return h

    def decode_blocks(self, blocks, out):
        h = self.host()
        n = blocks.shape[0]
        hi = np.take(h["qh"], blocks[:, 32:48], mode="clip").view(np.uint16)   # (n, 32)
        idx = np.empty((n, 32), np.intp)
        np.bitwise_or(blocks[:, 0:32], hi, out=idx)
        np.take(h["rows"], idx, out=out.view("V32"), mode="clip")
        x = contiguous_bytes(blocks, 48, 56).view(np.uint64)       # (n, 1): the 4 words
        d = np.bitwise_and(x, self._D_MASK)
        np.multiply(d, self._D_GATHER, out=d)                       # wraps: modulo 2**64
        np.right_shift(d, np.uint64(48), out=d)
        d = d.astype(np.uint16).view(np.float16).astype(np.float32)  # (n, 1)
        key = np.bitwise_and(x.view(np.uint16), np.uint16(0x0FFF))   # (n, 4)
        dl = np.take(h["odd4"], key, mode="clip").view(np.float32)  # (n, 16)
        np.multiply(d, dl, out=dl)
        _apply(out, dl)
