"""A tensor kept quantized on the GPU: its format, logical shape and raw blocks."""

from __future__ import annotations

import math

from .formats import get_format
from .formats.base import as_shape


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
        """``fmt``: a format or anything :func:`~cupyquant.formats.get_format`
        takes. ``shape``: the logical shape, a sequence of integers, or a bare
        integer n for (n,) as in NumPy; every dimension positive. ``data``: a
        NumPy or CuPy uint8 array holding exactly the tensor's blocks (any
        other type or dtype is a TypeError)."""
        label = f"QuantizedTensor{f' {name!r}' if name else ''}"
        fmt = get_format(fmt)
        shape = as_shape(shape, label)
        if not shape or any(s <= 0 for s in shape):
            raise ValueError(f"{label}: bad shape {shape}")
        if shape[-1] % fmt.block_size:
            raise ValueError(f"{label}: last dimension {shape[-1]} is not a multiple of "
                             f"{fmt.name}'s block size {fmt.block_size}")
        # uint8 by dtype, not by array type: CuPy is not imported on the CPU path.
        dtype = getattr(data, "dtype", None)
        if dtype is None or not hasattr(data, "reshape"):
            raise TypeError(f"{label}: data must be a NumPy or CuPy uint8 array, got "
                            f"{type(data).__name__}")
        if getattr(dtype, "kind", None) != "u" or getattr(dtype, "itemsize", None) != 1:
            raise TypeError(f"{label}: data must be a uint8 array, got an array of {dtype}")
        expected = fmt.nbytes_for(math.prod(shape))
        if data.size != expected:
            raise ValueError(f"{label}: {fmt.name} {shape} needs {expected} bytes, got "
                             f"{data.size}")
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
