"""A tensor kept quantized on the GPU: its format, logical shape and raw blocks."""

from __future__ import annotations

import math

from .formats import get_format


class QuantizedTensor:
    """Quantized blocks on a device, with the tensor's logical (NumPy-order) shape.

    Rows are whole blocks: the last dimension is a multiple of the format's
    block size (GGUF guarantees it). ``dequant()`` expands it on the device;
    ``cupyquant.matmul(x, w)`` multiplies without expanding it (Q4_0).

    ``read_only=True`` promises that no kernel writes ``data`` while the
    tensor is in use (``load_gguf`` gives such tensors: its streams are
    synchronised before it returns). Matrix-vector products launched with
    programmatic dependent launch (inside CUDA graphs on sm_90+) then copy
    their first weights before the previous kernel on the stream has
    finished. Writing into a read-only tensor's blocks with a kernel and
    multiplying right after it on the same stream can read stale blocks.
    """

    __slots__ = ("format", "shape", "data", "name", "read_only")

    def __init__(self, fmt, shape, data, name: str | None = None, read_only: bool = False):
        fmt = get_format(fmt)
        shape = tuple(int(s) for s in shape)
        if not shape or any(s <= 0 for s in shape):
            raise ValueError(f"QuantizedTensor{f' {name!r}' if name else ''}: bad shape {shape}")
        if shape[-1] % fmt.block_size:
            raise ValueError(f"QuantizedTensor{f' {name!r}' if name else ''}: last dimension "
                             f"{shape[-1]} is not a multiple of {fmt.name}'s block size "
                             f"{fmt.block_size}")
        expected = fmt.nbytes_for(math.prod(shape))
        if data.dtype.itemsize != 1 or data.size != expected:
            raise ValueError(f"QuantizedTensor{f' {name!r}' if name else ''}: {fmt.name} {shape} "
                             f"needs {expected} bytes, got {data.size} of {data.dtype}")
        self.format = fmt
        self.shape = shape
        self.data = data.reshape(-1)
        self.name = name
        self.read_only = bool(read_only)

    @property
    def qtype(self):
        return self.format.qtype

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    @property
    def device(self):
        return getattr(self.data, "device", "cpu")

    def dequant(self, dtype="float16", out=None):
        """The dequantized tensor (CuPy on the device, NumPy on the host)."""
        return self.format.dequant(self.data, shape=self.shape, dtype=dtype, out=out)

    def __repr__(self) -> str:
        where = self.device
        where = f"cuda:{where.id}" if hasattr(where, "id") else str(where)
        label = f" {self.name!r}" if self.name else ""
        return f"<QuantizedTensor{label} {self.format.name} {self.shape} on {where}, {self.nbytes} bytes>"
