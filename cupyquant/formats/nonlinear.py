"""4-bit formats whose codes index a 16-entry value table: IQ4_NL, IQ4_XS
(non-linear int8 codebook), MXFP4 and NVFP4 (doubled e2m1 values with an
e8m0 / ue4m3 block scale).

The codebooks and the scale decodings come from ``gguf.quants`` at import
time: the scale tables are gguf's own conversion functions evaluated on all 256
byte values, so host and kernels use exactly the reference's float32 scales.

``tables()`` layout (float32): entries 0-15 the codebook, as floats; for MXFP4
and NVFP4, entries 16-271 the decoded scale of every scale byte.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants as gq

from .base import BlockFormat
from .legacy import contiguous_bytes, f16_field, nibble_codes, nibble_planes, q4_codes

_BYTES = np.arange(256, dtype=np.uint8)


def _table(codebook, scales=None) -> np.ndarray:
    parts = [np.asarray(codebook, dtype=np.int8).astype(np.float32)]
    if scales is not None:
        parts.append(np.asarray(scales, dtype=np.float32))
    table = np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)
    table.flags.writeable = False
    return table


class _Codebook16(BlockFormat):
    """A format with a 16-entry codebook (and possibly a scale table): the
    NumPy decoder and the kernels share ``_table``."""
    _table: np.ndarray

    def tables(self):
        return self._table

    def lookup(self, codes: np.ndarray, out: np.ndarray) -> None:
        """out = codebook[codes] (codes: contiguous uint8 0-15, shaped like out)."""
        np.take(self._table, codes, out=out, mode="clip")


class IQ4_NL(_Codebook16, qtype=T.IQ4_NL):
    """d * kvalues[q]; q: 4 bits laid out as in Q4_0."""
    block_fields = (("d", "<f2"), ("qs", "u1", 16))
    hip_family = "nonlinear"
    _table = _table(gq.IQ4_NL.kvalues)

    def decode_blocks(self, blocks, out):
        d = f16_field(blocks, 0)
        self.lookup(q4_codes(blocks, 2), out)
        np.multiply(out, d, out=out)


class IQ4_XS(_Codebook16, qtype=T.IQ4_XS):
    """256 values in 8 sub-blocks of 32: (d * (ls - 32)) * kvalues[q] with
    IQ4_NL's codebook. ls: 6 bits, low 4 in nibble (ib % 2) of scales_l[ib / 2],
    high 2 at bit 2*ib of scales_h. Sub-block ib's q are in qs[16*ib : 16*ib + 16]
    (values 0-15 low nibbles, 16-31 high nibbles)."""
    block_fields = (("d", "<f2"), ("scales_h", "<u2"), ("scales_l", "u1", 4), ("qs", "u1", 128))
    hip_family = "nonlinear"
    _table = _table(gq.IQ4_NL.kvalues)
    _h_shifts = np.arange(0, 16, 2, dtype=np.uint16)

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        d = f16_field(blocks, 0)
        lo, hi = nibble_planes(blocks)
        # sub-block scales: ls[2*i] / ls[2*i + 1] = low / high nibble of scales_l[i]
        ls = np.empty((n, 4, 2), np.uint8)
        ls[:, :, 0] = lo[:, 4:8]
        ls[:, :, 1] = hi[:, 4:8]
        sh = contiguous_bytes(blocks, 2, 4).view("<u2")          # (n, 1)
        sh = ((sh >> self._h_shifts) & 3).astype(np.uint8)        # (n, 8)
        ls = ls.reshape(n, 8) | (sh << 4)
        dl = ls.astype(np.float32)
        np.subtract(dl, 32.0, out=dl)
        np.multiply(dl, d, out=dl)                                # d * float(ls - 32)
        q = nibble_codes(blocks, 8, groups=8, width=16, planes=(lo, hi))   # (n, 8, 32)
        o = out.reshape(n, 8, 32)
        self.lookup(q, o)
        np.multiply(o, dl[:, :, None], out=o)


class MXFP4(_Codebook16, qtype=T.MXFP4):
    """scale(e) * kvalues[q]: e an e8m0 byte decoded (halved) as gguf does,
    q: 4 bits laid out as in Q4_0."""
    block_fields = (("e", "u1"), ("qs", "u1", 16))
    hip_family = "nonlinear"
    _scales = np.asarray(gq.MXFP4.e8m0_to_fp32_half(_BYTES), dtype=np.float32)
    _table = _table(gq.MXFP4.kvalues, _scales)

    def decode_blocks(self, blocks, out):
        d = np.take(self._scales, blocks[:, 0:1], mode="clip")
        self.lookup(q4_codes(blocks, 1), out)
        np.multiply(out, d, out=out)


class NVFP4(_Codebook16, qtype=T.NVFP4):
    """64 values in 4 sub-blocks of 16: scale(d[s]) * kvalues[q], d[s] a ue4m3
    byte decoded (halved) as gguf does. Sub-block s's q are in qs[8*s : 8*s + 8]
    (values 0-7 low nibbles, 8-15 high nibbles)."""
    block_fields = (("d", "u1", 4), ("qs", "u1", 32))
    hip_family = "nonlinear"
    _scales = np.asarray(gq.NVFP4.ue4m3_to_fp32(_BYTES), dtype=np.float32)
    _table = _table(gq.NVFP4.kvalues, _scales)

    def decode_blocks(self, blocks, out):
        n = blocks.shape[0]
        d = np.take(self._scales, contiguous_bytes(blocks, 0, 4), mode="clip")  # (n, 4)
        q = nibble_codes(blocks, 4, groups=4, width=8)            # (n, 4, 16)
        o = out.reshape(n, 4, 16)
        self.lookup(q, o)
        np.multiply(o, d[:, :, None], out=o)
