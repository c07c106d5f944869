"""The shared block-shape logic of every GGUF format.

A format is one subclass of :class:`BlockFormat` registered by its ggml type::

    class Q4_0(BlockFormat, qtype=GGMLQuantizationType.Q4_0):
        block_fields = (("d", "<f2"), ("qs", "u1", 16))
        hip_family = "legacy"            # cupyquant/hip/legacy.hip holds Decoder_Q4_0

        def decode_blocks(self, blocks, out):
            ...                           # the arithmetic only

The base class owns everything else: the block layout taken from gguf's
``GGML_QUANT_SIZES``, input validation, chunked and threaded host decoding
(bounded extra memory whatever the tensor size), float16 rounding, the GPU
kernel source and its launch.
"""

from __future__ import annotations

import enum
import math
import operator
import os
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType

from ..errors import UnsupportedFormatError
from ..thread_pools import shared_pool

# Elements decoded per work item on the host. Small enough that a chunk and its
# temporaries stay in the CPU's L2 cache (this is where most of the speed over
# whole-array NumPy comes from); the extra memory is a few MB per thread.
HOST_CHUNK_ELEMS = 1 << 16
# Host threads decoding chunks at once. NumPy releases the GIL, but a chunk is
# many short NumPy calls: on 2 cores two threads measured slower than one (the
# GIL hand-offs cost more than the second core gives), so threads start at 4 cores.
_CORES = os.cpu_count() or 1
HOST_THREADS = min(8, _CORES) if _CORES >= 4 else 1

HOST_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))

_REGISTRY: dict[GGMLQuantizationType, "BlockFormat"] = {}


def _host_pool() -> ThreadPoolExecutor:
    return shared_pool("decode", HOST_THREADS)


def _is_cupy_array(obj) -> bool:
    # Checked by module name so that the CPU path never imports CuPy.
    return type(obj).__module__.startswith("cupy")


def as_shape(shape, what: str) -> tuple[int, ...]:
    """``shape`` as a tuple of Python ints. A bare integer n means (n,), as in
    NumPy. Every dimension must be an integer (``operator.index``: Python and
    NumPy integers, not floats, strings, None or bools); TypeError otherwise,
    naming ``what`` and the dimension. Signs are the caller's to check."""
    if isinstance(shape, np.ndarray) and shape.ndim == 0:
        shape = shape[()]   # its NumPy scalar
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        return (operator.index(shape),)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{what}: shape must be an integer or a sequence of integers, "
                        f"got {shape!r}") from None
    out = []
    for i, d in enumerate(dims):
        if isinstance(d, (bool, np.bool_)):
            raise TypeError(f"{what}: dimension {i} of shape {dims!r} is a bool ({d!r}), "
                            f"not an integer")
        try:
            out.append(operator.index(d))
        except TypeError:
            raise TypeError(f"{what}: dimension {i} of shape {dims!r} is {d!r} "
                            f"({type(d).__name__}), not an integer") from None
    return tuple(out)


class BlockFormat:
    """One GGUF tensor type: its block layout, NumPy decoder and GPU kernel."""

    qtype: ClassVar[GGMLQuantizationType]
    #: (field name, NumPy dtype string[, count]) in storage order; describes one block.
    block_fields: ClassVar[tuple] = ()
    #: Name of the kernel source family under cupyquant/hip/ (``<family>.hip``),
    #: which defines ``struct Decoder_<NAME>``.
    hip_family: ClassVar[str] = ""

    def __init_subclass__(cls, qtype: GGMLQuantizationType | None = None, **kwargs):
        super().__init_subclass__(**kwargs)
        if qtype is None:  # an intermediate base class
            return
        cls.qtype = qtype
        if qtype in _REGISTRY:
            raise RuntimeError(f"format {qtype.name} registered twice")
        _REGISTRY[qtype] = cls()

    # ------------------------------------------------------------------ layout
    @property
    def name(self) -> str:
        return self.qtype.name

    @property
    def block_size(self) -> int:
        """Elements in one block."""
        return GGML_QUANT_SIZES[self.qtype][0]

    @property
    def type_size(self) -> int:
        """Bytes in one block."""
        return GGML_QUANT_SIZES[self.qtype][1]

    @property
    def block_dtype(self) -> np.dtype:
        """A structured dtype describing one block field by field."""
        dt = self.__dict__.get("_block_dtype")
        if dt is None:
            fields = []
            for spec in self.block_fields:
                name, base = spec[0], spec[1]
                fields.append((name, base, spec[2]) if len(spec) > 2 and spec[2] != 1 else (name, base))
            dt = np.dtype(fields)
            if dt.itemsize != self.type_size:
                raise AssertionError(f"{self.name}: block_dtype is {dt.itemsize} bytes, "
                                     f"gguf says {self.type_size}")
            self.__dict__["_block_dtype"] = dt
        return dt

    def __repr__(self) -> str:
        return (f"<cupyquant format {self.name}: {self.block_size} elements in "
                f"{self.type_size} bytes ({self.bits_per_weight:.4g} bits/weight)>")

    @property
    def bits_per_weight(self) -> float:
        return 8.0 * self.type_size / self.block_size

    # ------------------------------------------------------------- arithmetic
    def decode_blocks(self, blocks: np.ndarray, out: np.ndarray) -> None:
        """Decode ``blocks`` (uint8, shape (n, type_size)) into ``out`` (float32,
        shape (n, block_size)). Subclasses implement exactly the arithmetic of
        ``gguf.quants`` for their type, in float32, in the same order."""
        raise NotImplementedError

    def tables(self) -> np.ndarray | None:
        """Constant lookup tables the kernels need (codebooks), as one array,
        or None. The GPU path uploads it once per device."""
        return None

    # ------------------------------------------------------------- host path
    def nbytes_for(self, n_elements: int) -> int:
        if n_elements % self.block_size:
            raise ValueError(f"{self.name}: {n_elements} elements is not a whole number of "
                             f"{self.block_size}-element blocks")
        return n_elements // self.block_size * self.type_size

    def as_blocks(self, buf) -> np.ndarray:
        """View a host buffer as uint8 blocks of shape (n, type_size)."""
        if isinstance(buf, np.ndarray):
            if buf.dtype == self.block_dtype:
                raw = np.ascontiguousarray(buf).reshape(-1).view(np.uint8)
            elif buf.dtype == np.uint8:
                raw = np.ascontiguousarray(buf).reshape(-1)
            else:
                raise ValueError(f"{self.name}: expected a uint8 array or an array of "
                                 f"block_dtype, got an array of {buf.dtype}")
        elif isinstance(buf, (bytes, bytearray, memoryview)):
            if isinstance(buf, memoryview) and not buf.c_contiguous:
                raise ValueError(f"{self.name}: the memoryview is not C-contiguous (a strided "
                                 f"slice?): blocks must be contiguous bytes")
            raw = np.frombuffer(buf, dtype=np.uint8)
        else:
            raise TypeError(f"{self.name}: expected bytes, memoryview or a uint8 ndarray, "
                            f"got {type(buf).__name__}")
        if raw.size % self.type_size:
            raise ValueError(f"{self.name}: buffer of {raw.size} bytes is not a whole number of "
                             f"{self.type_size}-byte blocks ({raw.size % self.type_size} bytes "
                             f"left over)")
        return raw.reshape(-1, self.type_size)

    def decode(self, buf, dtype=np.float32) -> np.ndarray:
        """NumPy decoder: the flat dequantized values of a host buffer."""
        dtype = self._host_dtype(dtype)
        blocks = self.as_blocks(buf)
        out = np.empty((blocks.shape[0], self.block_size), dtype)
        self._decode_into(blocks, out)
        return out.reshape(-1)

    def _host_dtype(self, dtype) -> np.dtype:
        """The NumPy output dtype for ``dtype`` (None: float32); a ValueError
        naming it when the host decoders cannot give it."""
        if dtype is None:
            return np.dtype(np.float32)
        try:
            dt = np.dtype(dtype)
        except (TypeError, ValueError):   # NumPy's own error would not say what is allowed
            dt = None
        if dt is not None and dt in HOST_DTYPES:
            return dt
        allowed = "on the host the output dtype must be float32 or float16"
        if (dt.name if dt is not None else dtype) == "bfloat16":
            raise ValueError(f"{self.name}: {allowed}, got {dtype!r} (bfloat16 only on the GPU)")
        if dt is None:
            raise ValueError(f"{self.name}: unknown dtype {dtype!r} ({allowed})")
        raise ValueError(f"{self.name}: {allowed}, got {dtype!r}")

    def _decode_into(self, blocks: np.ndarray, out: np.ndarray) -> None:
        n = blocks.shape[0]
        rows = max(1, HOST_CHUNK_ELEMS // self.block_size)
        direct = out.dtype == np.float32

        def work(start: int) -> None:
            stop = min(start + rows, n)
            if direct:
                self.decode_blocks(blocks[start:stop], out[start:stop])
            else:  # float32 first, then one rounding to nearest-even
                tmp = np.empty((stop - start, self.block_size), np.float32)
                self.decode_blocks(blocks[start:stop], tmp)
                out[start:stop] = tmp

        starts = range(0, n, rows)
        with np.errstate(all="ignore"):  # NaN/Inf scales are data, not errors
            if n <= rows or HOST_THREADS == 1:
                for s in starts:
                    work(s)
            else:
                # errstate is thread-local: set it in the workers too.
                def guarded(s):
                    with np.errstate(all="ignore"):
                        work(s)
                for _ in _host_pool().map(guarded, starts):
                    pass

    # ---------------------------------------------------------- general entry
    def dequant(self, buf, shape=None, dtype=None, out=None):
        """Dequantize ``buf``: a host buffer gives a NumPy array (NumPy decoder),
        a CuPy uint8 array gives a CuPy array (GPU kernel, current device and
        stream). ``shape`` reshapes the flat result (it must hold exactly the
        decoded element count; a bare integer n means (n,), as in NumPy);
        ``out`` (writable) receives the result. On the host ``dtype`` is
        float32 (the default) or float16."""
        if _is_cupy_array(buf):
            from ..gpu.dequant import dequant_on_gpu
            return dequant_on_gpu(self, buf, shape=shape, dtype=dtype, out=out)
        blocks = self.as_blocks(buf)
        n_elems = blocks.shape[0] * self.block_size
        shape = self._check_shape(shape, n_elems)
        if out is not None:
            if not isinstance(out, np.ndarray):
                raise TypeError(f"{self.name}: out= for a host buffer must be a NumPy array")
            if out.size != n_elems or not out.flags.c_contiguous:
                raise ValueError(f"{self.name}: out= must be C-contiguous with {n_elems} elements, "
                                 f"got shape {out.shape}")
            if not out.flags.writeable:
                raise ValueError(f"{self.name}: out is read-only")
            out_dtype = self._host_dtype(out.dtype)
            if dtype is not None and self._host_dtype(dtype) != out_dtype:
                raise ValueError(f"{self.name}: dtype={np.dtype(dtype)} disagrees with out.dtype={out.dtype}")
            self._decode_into(blocks, out.reshape(-1, self.block_size))
            return out
        return self.decode(blocks, self._host_dtype(dtype)).reshape(shape)

    def _check_shape(self, shape, n_elems: int) -> tuple:
        if shape is None:
            return (n_elems,)
        shape = as_shape(shape, self.name)
        if any(s < 0 for s in shape) or math.prod(shape) != n_elems:
            raise ValueError(f"{self.name}: shape {shape} does not match the {n_elems} elements "
                             f"in the buffer")
        return shape

    # ------------------------------------------------------------- GPU source
    @property
    def kernel_tag(self) -> str:
        return self.name.lower()

    def kernel_name(self, out_dtype) -> str:
        suffix = {"float32": "f32", "float16": "f16", "bfloat16": "bf16"}[np.dtype(out_dtype).name]
        return f"cq_dequant_{self.kernel_tag}_{suffix}"

    @property
    def source(self) -> str:
        """The exact HIP source handed to ``cupy.RawModule`` for this format."""
        src = self.__dict__.get("_source")
        if src is None:
            from ..hip import format_source
            src = self.__dict__["_source"] = format_source(self)
        return src


def get_format(key) -> BlockFormat:
    """The registered format for a name, GGMLQuantizationType or type id (a
    Python or NumPy integer). Members of other enums are a TypeError: gguf's
    LlamaFileType or GGUFValueType are integers too, but a file type 7 (Q8_0)
    is not ggml type 7 (Q5_1)."""
    qtype = None
    if isinstance(key, BlockFormat):
        return key
    if isinstance(key, GGMLQuantizationType):
        qtype = key
    elif isinstance(key, enum.Enum):
        raise TypeError(f"{type(key).__name__}.{key.name} is not a ggml type: a member of "
                        f"{type(key).__name__}, not of GGMLQuantizationType")
    elif isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        try:
            qtype = GGMLQuantizationType(int(key))
        except ValueError:
            raise UnsupportedFormatError(f"unknown ggml type id {int(key)}") from None
    elif isinstance(key, str):
        qtype = GGMLQuantizationType.__members__.get(key.upper())
        if qtype is None:
            raise UnsupportedFormatError(f"unknown ggml type {key!r}")
    else:
        raise UnsupportedFormatError(f"not a ggml type: {key!r}")
    fmt = _REGISTRY.get(qtype)
    if fmt is None:
        raise UnsupportedFormatError(f"ggml type {qtype.name} (id {qtype.value}) is not supported by cupyquant "
                                     f"(gguf.quants cannot dequantize it either)")
    return fmt
