"""A fast, memory-mapped GGUF reader.

    from cupyquant.gguf_file import open_gguf

    with open_gguf("model.gguf") as f:
        f.metadata["general.architecture"]        # "llama"
        info = f.tensors["blk.0.attn_q.weight"]   # TensorInfo: qtype, shape, offset, nbytes
        raw = f.tensor_bytes(info.name)           # read-only uint8 view of the mapped file

The file is mapped read-only and parsed once. Scalar and string metadata are
decoded at open; arrays (a tokenizer's 262,144 strings, its scores) are only
*skipped* at open (for string arrays a tight walk over the 8-byte lengths) and
decoded the first time their key is read. Numeric arrays become read-only
NumPy arrays, string arrays Python lists of ``str``, arrays of arrays lists
of those; every read returns fresh lists, so changing one changes no later read.

Every count, length, offset and dimension is checked against the file size
before it is used: a truncated or corrupt file raises
:class:`~cupyquant.errors.GGUFError` naming the file and, where known, the
tensor and the byte offset; never an ``IndexError`` or ``struct.error``.
Tensors whose data ranges overlap are rejected (a small file could otherwise
claim the same bytes for any number of tensors); the ranges need not follow
each other in file order, nor be packed.

The constants (magic, value types, ggml types and their block sizes, the
default alignment and its metadata key) are gguf-py's, so the reader knows
exactly the types the installed ``gguf`` package knows.
"""

from __future__ import annotations

import errno
import mmap
import os
import stat
import struct
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from gguf.constants import (GGML_QUANT_SIZES, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC,
                            GGMLQuantizationType, GGUFValueType, Keys)

from .errors import GGUFError

__all__ = ["open_gguf", "GGUFFile", "GGUFMetadata", "TensorInfo", "ALIGNMENT_KEY",
           "SUPPORTED_VERSIONS", "MAX_DIMS"]

#: The metadata key giving the tensor data alignment ("general.alignment").
ALIGNMENT_KEY = Keys.General.ALIGNMENT
#: GGUF versions this reader parses (version 1 had 32-bit counts and lengths).
SUPPORTED_VERSIONS = (2, 3)
#: ggml tensors have at most this many dimensions (GGML_MAX_DIMS).
MAX_DIMS = 4
#: Arrays of arrays nest at most this deep.
MAX_NESTING = 16

_INT64_MAX = (1 << 63) - 1
_HEADER_BYTES = 24            # magic, version, tensor count, metadata count
_MIN_KV_BYTES = 8 + 4 + 1     # key length, value type, the smallest value
_MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8   # name length, n_dims, type, offset

_U32 = struct.Struct("<I").unpack_from
_U64 = struct.Struct("<Q").unpack_from

VT = GGUFValueType
# Scalar value type -> (struct format, NumPy dtype of an array of them).
_SCALARS: dict[GGUFValueType, tuple[struct.Struct, np.dtype]] = {
    VT.UINT8: (struct.Struct("<B"), np.dtype("<u1")),
    VT.INT8: (struct.Struct("<b"), np.dtype("<i1")),
    VT.UINT16: (struct.Struct("<H"), np.dtype("<u2")),
    VT.INT16: (struct.Struct("<h"), np.dtype("<i2")),
    VT.UINT32: (struct.Struct("<I"), np.dtype("<u4")),
    VT.INT32: (struct.Struct("<i"), np.dtype("<i4")),
    VT.FLOAT32: (struct.Struct("<f"), np.dtype("<f4")),
    VT.BOOL: (struct.Struct("<B"), np.dtype("<u1")),
    VT.UINT64: (struct.Struct("<Q"), np.dtype("<u8")),
    VT.INT64: (struct.Struct("<q"), np.dtype("<i8")),
    VT.FLOAT64: (struct.Struct("<d"), np.dtype("<f8")),
}
_VALUE_TYPES = {int(t): t for t in GGUFValueType}
_GGML_TYPES = {int(t): t for t in GGMLQuantizationType}


# --------------------------------------------------------------------- tensors
@dataclass(frozen=True)
class TensorInfo:
    """Where one tensor lies in a GGUF file and what it is."""
    name: str
    qtype: GGMLQuantizationType
    #: Logical NumPy (row-major) shape: GGUF's dims reversed, GGUF [4096, 32000] -> (32000, 4096).
    shape: tuple[int, ...]
    n_elements: int
    #: Absolute byte offset of the tensor's data in the file.
    offset: int
    nbytes: int
    path: str

    @property
    def type_name(self) -> str:
        return self.qtype.name


# -------------------------------------------------------------------- metadata
class _LazyArray:
    """A metadata array skipped at open: decoded when its key is first read.

    ``buf`` is the mapped file while it is open; closing the file copies the
    array's raw bytes (``buf`` becomes those bytes, ``base`` their offset)."""

    __slots__ = ("itype", "count", "start", "end", "buf", "base")

    def __init__(self, itype, count, start, end, buf):
        self.itype, self.count, self.start, self.end = itype, count, start, end
        self.buf, self.base = buf, 0

    def detach(self) -> None:
        if not isinstance(self.buf, bytes):
            self.buf = bytes(self.buf[self.start:self.end])
            self.base = self.start

    def decode(self):
        value, _ = _decode_array(self.buf, self.start - self.base, self.itype, self.count)
        return value


def _decode_array(buf, pos: int, itype: GGUFValueType, count: int):
    """Decode an array already validated at open. Returns (value, end)."""
    scalar = _SCALARS.get(itype)
    if scalar is not None:
        dt = scalar[1]
        raw = np.frombuffer(buf, dtype=dt, count=count, offset=pos)
        arr = (raw != 0) if itype == VT.BOOL else raw.astype(dt.newbyteorder("="), copy=True)
        del raw  # release the buffer export on the map at once
        arr.setflags(write=False)
        return arr, pos + count * dt.itemsize
    if itype == VT.STRING:
        out = []
        append = out.append
        for _ in range(count):
            n = _U64(buf, pos)[0]
            pos += 8
            append(str(buf[pos:pos + n], "utf-8", "replace"))
            pos += n
        return out, pos
    # arrays of arrays
    out = []
    for _ in range(count):
        sub_type = _VALUE_TYPES[_U32(buf, pos)[0]]
        sub_count = _U64(buf, pos + 4)[0]
        value, pos = _decode_array(buf, pos + 12, sub_type, sub_count)
        out.append(value)
    return out, pos


def _copy_lists(value):
    """A decoded array value with every list in it copied (strings and the
    read-only NumPy arrays are shared)."""
    if isinstance(value, list):
        return [_copy_lists(item) for item in value]
    return value


class GGUFMetadata(Mapping):
    """The key/value metadata of a GGUF file: a read-only mapping in file order.

    Scalars are Python ``int``/``float``/``bool``/``str``; arrays are decoded
    on first access: numeric ones to read-only NumPy arrays, strings to a list
    of ``str``, arrays of arrays to a list of those. Every read gives new
    lists (the NumPy arrays are read-only), so a caller changing one changes
    no later read. The values equal what ``gguf.GGUFReader`` gives through
    ``ReaderField.contents()``, except that arrays of arrays keep their
    nesting (gguf-py flattens them). Strings that are not valid UTF-8 are
    decoded with replacement characters.
    """

    def __init__(self, values: dict, types: dict):
        self._values = values
        self._types = types

    def __getitem__(self, key):
        value = self._values[key]
        if isinstance(value, _LazyArray):
            value = value.decode()
            self._values[key] = value
        if isinstance(value, list):
            # Copies, so that the cached lists stay as the file says: arrays of
            # arrays are copied at every level, flat string lists (a tokenizer's
            # 262,144 tokens) with one list() call.
            if self._types[key][1] == VT.ARRAY:
                return _copy_lists(value)
            return list(value)
        return value

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, key) -> bool:
        return key in self._values

    def value_type(self, key) -> tuple[GGUFValueType, ...]:
        """The GGUF value types of ``key``, as ``ReaderField.types``: one entry
        for a scalar, ``(ARRAY, item type)`` for an array, ``(ARRAY, ARRAY,
        item type)`` for an array of arrays (item type of the first inner one)."""
        return self._types[key]

    def array_length(self, key) -> int | None:
        """Number of items of an array value (without decoding it), else None."""
        value = self._values[key]
        if isinstance(value, _LazyArray):
            return value.count
        return len(value) if self._types[key][0] == VT.ARRAY else None

    def _detach(self) -> None:
        for value in self._values.values():
            if isinstance(value, _LazyArray):
                value.detach()

    def __repr__(self) -> str:
        parts = []
        for key, value in self._values.items():
            if isinstance(value, _LazyArray):
                text = f"<array of {value.count} {value.itype.name}>"
            else:
                text = repr(value)
                if len(text) > 60:
                    text = text[:57] + "..."
            parts.append(f"{key!r}: {text}")
        return "GGUFMetadata({" + ", ".join(parts) + "})"


# ---------------------------------------------------------------------- parser
class _Parser:
    """Reads the header of one mapped file, checking every size against it."""

    def __init__(self, buf, size: int, path: str):
        self.buf, self.size, self.path = buf, size, path

    def fail(self, message: str, *, offset=None, tensor=None) -> GGUFError:
        return GGUFError(message, path=self.path, tensor=tensor, offset=offset)

    def need(self, pos: int, n: int, what: str, tensor=None) -> None:
        if pos + n > self.size:
            raise self.fail(f"{what} ({n} bytes) runs past the end of the file "
                            f"({self.size} bytes): the file is truncated or corrupt",
                            offset=pos, tensor=tensor)

    def u32(self, pos: int, what: str, tensor=None) -> int:
        self.need(pos, 4, what, tensor)
        return _U32(self.buf, pos)[0]

    def u64(self, pos: int, what: str, tensor=None) -> int:
        self.need(pos, 8, what, tensor)
        return _U64(self.buf, pos)[0]

    def string(self, pos: int, what: str, tensor=None, strict=False) -> tuple[str, int]:
        n = self.u64(pos, f"length of {what}", tensor)
        pos += 8
        if n > self.size - pos:
            raise self.fail(f"{what}: string length {n} runs past the end of the file "
                            f"({self.size} bytes)", offset=pos - 8, tensor=tensor)
        raw = self.buf[pos:pos + n]
        try:
            text = str(raw, "utf-8", "strict" if strict else "replace")
        except UnicodeDecodeError as e:
            raise self.fail(f"{what} is not valid UTF-8 ({e.reason} at byte {e.start})",
                            offset=pos, tensor=tensor) from None
        return text, pos + n

    def value_type(self, raw: int, pos: int, key: str) -> GGUFValueType:
        vtype = _VALUE_TYPES.get(raw)
        if vtype is None:
            raise self.fail(f"metadata {key!r}: unknown value type {raw} (known: "
                            f"{', '.join(f'{t.value}={t.name}' for t in GGUFValueType)})",
                            offset=pos)
        return vtype

    def value(self, pos: int, vtype: GGUFValueType, key: str):
        """Parse one value at ``pos``: (value or _LazyArray, end, types)."""
        scalar = _SCALARS.get(vtype)
        if scalar is not None:
            st = scalar[0]
            self.need(pos, st.size, f"metadata {key!r} ({vtype.name})")
            v = st.unpack_from(self.buf, pos)[0]
            return (v != 0 if vtype == VT.BOOL else v), pos + st.size, (vtype,)
        if vtype == VT.STRING:
            text, end = self.string(pos, f"metadata {key!r}")
            return text, end, (vtype,)
        # ARRAY
        itype = self.value_type(self.u32(pos, f"item type of metadata array {key!r}"), pos, key)
        count = self.u64(pos + 4, f"length of metadata array {key!r}")
        start = pos + 12
        types = [VT.ARRAY, itype]
        end = self.skip_array(start, itype, count, key, 1, types)
        return _LazyArray(itype, count, start, end, self.buf), end, tuple(types)

    def skip_array(self, pos: int, itype: GGUFValueType, count: int, key: str, depth: int,
                   types: list | None = None) -> int:
        """Validate an array's items and return the offset just past them."""
        left = self.size - pos
        scalar = _SCALARS.get(itype)
        if scalar is not None:
            itemsize = scalar[1].itemsize
            if count > left // itemsize:
                raise self.fail(f"metadata array {key!r}: {count} items of {itype.name} "
                                f"({itemsize} bytes each) run past the end of the file "
                                f"({self.size} bytes)", offset=pos)
            return pos + count * itemsize
        if itype == VT.STRING:
            if count > left // 8:
                raise self.fail(f"metadata array {key!r}: {count} strings cannot fit in the "
                                f"{left} bytes left in the file (absurd count)", offset=pos)
            return self.skip_strings(pos, count, key)
        # arrays of arrays
        if depth >= MAX_NESTING:
            raise self.fail(f"metadata array {key!r}: arrays nested more than {MAX_NESTING} "
                            f"deep", offset=pos)
        if count > left // 12:
            raise self.fail(f"metadata array {key!r}: {count} inner arrays cannot fit in the "
                            f"{left} bytes left in the file (absurd count)", offset=pos)
        for i in range(count):
            sub = self.value_type(self.u32(pos, f"item type of inner array {i} of {key!r}"),
                                  pos, key)
            sub_count = self.u64(pos + 4, f"length of inner array {i} of {key!r}")
            if i == 0 and types is not None:
                types.append(sub)
                inner_types = types
            else:
                inner_types = None
            pos = self.skip_array(pos + 12, sub, sub_count, key, depth + 1, inner_types)
        return pos

    def skip_strings(self, pos: int, count: int, key: str) -> int:
        """Walk past ``count`` length-prefixed strings: only the 8-byte lengths
        are read, in the tightest loop Python allows. A length that points
        past the end makes the next read fail (struct.error), checked below."""
        buf, start = self.buf, pos
        try:
            for _ in range(count):
                pos += 8 + _U64(buf, pos)[0]
        except (struct.error, OverflowError):  # a length pointed past the end
            pos = self.size + 1
        if pos > self.size:
            self.find_bad_string(start, count, key)
        return pos

    def find_bad_string(self, pos: int, count: int, key: str) -> None:
        """Slow path of skip_strings: find and report the broken string."""
        for i in range(count):
            if pos + 8 > self.size:
                raise self.fail(f"metadata array {key!r}: the length of string {i} of {count} "
                                f"runs past the end of the file ({self.size} bytes)",
                                offset=pos)
            n = _U64(self.buf, pos)[0]
            if n > self.size - pos - 8:
                raise self.fail(f"metadata array {key!r}: string {i} of {count} has length "
                                f"{n}, past the end of the file ({self.size} bytes)",
                                offset=pos)
            pos += 8 + n
        raise self.fail(f"metadata array {key!r}: strings run past the end of the file",
                        offset=pos)  # not reached


def _parse(parser: _Parser, obj: "GGUFFile") -> None:
    p, size, buf = parser, parser.size, parser.buf
    if size < 4:
        raise p.fail(f"not a GGUF file: only {size} bytes")
    magic = bytes(buf[0:4])
    if magic != struct.pack("<I", GGUF_MAGIC):
        raise p.fail(f"not a GGUF file: the magic is {magic!r}, expected "
                     f"{struct.pack('<I', GGUF_MAGIC)!r}", offset=0)
    if size < _HEADER_BYTES:
        raise p.fail(f"truncated GGUF header: the file has {size} bytes, the header needs "
                     f"{_HEADER_BYTES}", offset=0)
    version = _U32(buf, 4)[0]
    if version not in SUPPORTED_VERSIONS:
        swapped = int.from_bytes(version.to_bytes(4, "little"), "big")
        if version & 0xFFFF == 0 and swapped in SUPPORTED_VERSIONS:
            raise p.fail(f"big-endian GGUF file (version {swapped}): only little-endian "
                         f"files are supported", offset=4)
        raise p.fail(f"unsupported GGUF version {version} (supported: "
                     f"{', '.join(map(str, SUPPORTED_VERSIONS))})", offset=4)
    n_tensors, n_kv = _U64(buf, 8)[0], _U64(buf, 16)[0]
    pos = _HEADER_BYTES
    if n_kv > (size - pos) // _MIN_KV_BYTES:
        raise p.fail(f"metadata count {n_kv} is impossible in a file of {size} bytes "
                     f"(truncated or corrupt header)", offset=16)
    if n_tensors > (size - pos) // _MIN_TENSOR_INFO_BYTES:
        raise p.fail(f"tensor count {n_tensors} is impossible in a file of {size} bytes "
                     f"(truncated or corrupt header)", offset=8)

    # ---- metadata
    values: dict = {}
    types: dict = {}
    for i in range(n_kv):
        entry = pos
        key, pos = p.string(pos, f"key of metadata entry {i}", strict=True)
        if key in values:
            raise p.fail(f"duplicate metadata key {key!r}", offset=entry)
        vtype = p.value_type(p.u32(pos, f"value type of metadata {key!r}"), pos, key)
        value, pos, vtypes = p.value(pos + 4, vtype, key)
        values[key] = value
        types[key] = vtypes

    alignment = GGUF_DEFAULT_ALIGNMENT
    if ALIGNMENT_KEY in values:
        if types[ALIGNMENT_KEY] != (VT.UINT32,):
            raise p.fail(f"{ALIGNMENT_KEY} must be a UINT32, found "
                         f"{'/'.join(t.name for t in types[ALIGNMENT_KEY])}")
        alignment = values[ALIGNMENT_KEY]
        if alignment == 0 or alignment & (alignment - 1):
            raise p.fail(f"{ALIGNMENT_KEY} = {alignment} is not a power of two")

    # ---- tensor infos
    if n_tensors > (size - pos) // _MIN_TENSOR_INFO_BYTES:
        raise p.fail(f"tensor count {n_tensors} does not fit in the {size - pos} bytes left "
                     f"after the metadata (truncated or corrupt file)", offset=pos)
    pending = []
    seen: dict[str, int] = {}
    for i in range(n_tensors):
        entry = pos
        name, pos = p.string(pos, f"name of tensor {i}", strict=True)
        if name in seen:
            raise p.fail(f"duplicate tensor name (tensors {seen[name]} and {i})",
                         tensor=name, offset=entry)
        seen[name] = i
        n_dims = p.u32(pos, "number of dimensions", tensor=name)
        if n_dims > MAX_DIMS:
            raise p.fail(f"{n_dims} dimensions (ggml allows at most {MAX_DIMS})",
                         tensor=name, offset=pos)
        pos += 4
        p.need(pos, 8 * n_dims, "dimensions", tensor=name)
        dims = struct.unpack_from(f"<{n_dims}Q", buf, pos)
        dims_at = pos
        pos += 8 * n_dims
        type_id = p.u32(pos, "ggml type", tensor=name)
        rel = p.u64(pos + 4, "data offset", tensor=name)
        pos += 12

        n_elements = 1
        for j, d in enumerate(dims):
            if d == 0 or d > _INT64_MAX:
                what = "zero" if d == 0 else f"negative ({d - (1 << 64)})"
                raise p.fail(f"dimension {j} is {what}: dims {list(dims)}", tensor=name,
                             offset=dims_at + 8 * j)
            n_elements *= d
        if n_elements > _INT64_MAX:
            raise p.fail(f"dims {list(dims)} hold more than 2**63-1 elements (overflow)",
                         tensor=name, offset=dims_at)
        qtype = _GGML_TYPES.get(type_id)
        if qtype is None or qtype not in GGML_QUANT_SIZES:
            raise p.fail(f"unknown ggml type id {type_id} (the installed gguf package does not "
                         f"know it, so its size is unknown)", tensor=name, offset=pos - 12)
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        row = dims[0] if dims else 1
        if row % block_size:
            raise p.fail(f"{qtype.name}: the row length {row} (first GGUF dimension, dims "
                         f"{list(dims)}) is not a multiple of the block size {block_size}",
                         tensor=name, offset=dims_at)
        if rel % alignment:
            raise p.fail(f"data offset {rel} (relative to the data section) is not a multiple "
                         f"of the alignment {alignment}", tensor=name, offset=pos - 8)
        nbytes = n_elements // block_size * type_size
        pending.append((name, qtype, tuple(reversed(dims)), n_elements, rel, nbytes))

    data_offset = -(-pos // alignment) * alignment
    tensors: dict[str, TensorInfo] = {}
    # Writers lay tensors out in listing order: while each one starts at or
    # after the end of the one before, no two overlap and nothing need be sorted.
    listed_end = 0
    in_listing_order = True
    for name, qtype, shape, n_elements, rel, nbytes in pending:
        offset = data_offset + rel
        if offset + nbytes > size:
            raise p.fail(f"{qtype.name} data ({nbytes} bytes) runs past the end of the file "
                         f"({size} bytes): the file is truncated or the offset is corrupt",
                         tensor=name, offset=offset)
        tensors[name] = TensorInfo(name, qtype, shape, n_elements, offset, nbytes, p.path)
        if offset < listed_end:
            in_listing_order = False
        listed_end = offset + nbytes
    if not in_listing_order:
        _check_no_overlap(p, tensors.values())

    obj.version = version
    obj.alignment = alignment
    obj.metadata = GGUFMetadata(values, types)
    obj.tensors = tensors
    obj.data_offset = data_offset
    obj.header_size = pos


def _check_no_overlap(p: _Parser, infos) -> None:
    """Reject tensors whose data ranges share bytes. Without this check a small
    file can name the same bytes for any number of tensors, and loading it
    allocates far more than the file holds. Only overlaps are errors: gaps and
    an order other than the listing order are valid GGUF. Tensors of zero
    bytes overlap nothing."""
    infos = [info for info in infos if info.nbytes]
    # Offsets and ends are at most the file size: int64 holds them. NumPy sorts
    # 100,000 shuffled tensors in a third of the time a Python loop takes.
    starts = np.array([info.offset for info in infos], dtype=np.int64)
    ends = starts + np.array([info.nbytes for info in infos], dtype=np.int64)
    by_start = np.argsort(starts, kind="stable")   # ties in listing order
    # A tensor overlaps an earlier-starting one exactly when it starts before
    # the furthest end among those.
    furthest_end = np.maximum.accumulate(ends[by_start])
    overlapping = np.flatnonzero(starts[by_start][1:] < furthest_end[:-1])
    if overlapping.size:
        k = int(overlapping[0]) + 1
        later = infos[by_start[k]]
        earlier = infos[by_start[int(np.argmax(ends[by_start[:k]]))]]
        raise p.fail(f"data [{later.offset}, {later.offset + later.nbytes}) overlaps the data "
                     f"of tensor {earlier.name!r} [{earlier.offset}, "
                     f"{earlier.offset + earlier.nbytes}): tensors must not share bytes",
                     tensor=later.name, offset=later.offset)


# ------------------------------------------------------------------------ file
class GGUFFile:
    """One opened, memory-mapped GGUF file. Use :func:`open_gguf`.

    Attributes: ``path``, ``size`` (bytes), ``version``, ``alignment``,
    ``metadata`` (:class:`GGUFMetadata`), ``tensors`` (name ->
    :class:`TensorInfo`, file order), ``data_offset`` (start of the tensor
    data section), ``header_size`` (bytes of header, metadata and tensor infos).
    """

    path: str
    size: int
    version: int
    alignment: int
    metadata: GGUFMetadata
    tensors: dict[str, TensorInfo]
    data_offset: int
    header_size: int

    def __init__(self, path):
        self.path = os.fspath(path)
        if isinstance(self.path, bytes):
            self.path = os.fsdecode(self.path)
        self._mm = None
        self._u8 = None
        # Checked before open(): opening a FIFO blocks until a writer comes, and
        # a pipe or a device cannot be mapped (a pipe's size reads as 0).
        mode = os.stat(self.path).st_mode
        if stat.S_ISDIR(mode):   # an OSError, as open() would raise, not a bad file
            raise IsADirectoryError(errno.EISDIR, "a directory, not a GGUF file", self.path)
        kind = _not_regular_kind(mode)
        if kind is not None:
            raise GGUFError(f"not a regular file ({kind}): GGUF files are memory-mapped, so "
                            f"only regular files can be read", path=self.path)
        with open(self.path, "rb") as fh:
            self.size = os.fstat(fh.fileno()).st_size
            if self.size == 0:
                raise GGUFError("not a GGUF file: the file is empty", path=self.path)
            mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            _parse(_Parser(mm, self.size, self.path), self)
        except GGUFError:
            _close_map(mm)
            raise
        except (struct.error, IndexError, OverflowError, ValueError, KeyError, TypeError,
                UnicodeDecodeError, RecursionError) as e:  # a check missed above: still ours
            _close_map(mm)
            raise GGUFError(f"malformed GGUF file ({type(e).__name__}: {e})",
                            path=self.path) from e
        except BaseException:
            _close_map(mm)
            raise
        self._mm = mm
        self._u8 = np.frombuffer(mm, dtype=np.uint8)

    # ------------------------------------------------------------------ data
    @property
    def closed(self) -> bool:
        return self._mm is None

    def tensor_info(self, name: str) -> TensorInfo:
        try:
            return self.tensors[name]
        except KeyError:
            raise KeyError(f"{self.path}: no tensor named {name!r}") from None

    def tensor_bytes(self, name: str) -> np.ndarray:
        """The tensor's raw bytes: a read-only uint8 view of the mapped file
        (it stays valid after :meth:`close`; the mapping lives while it does)."""
        info = self.tensor_info(name)
        if self._u8 is None:
            raise GGUFError("the file is closed", path=self.path, tensor=name)
        return self._u8[info.offset:info.offset + info.nbytes]

    def close(self) -> None:
        """Unmap the file. Metadata arrays not read yet are copied out first
        (their raw bytes), so ``metadata`` stays usable. Views returned by
        :meth:`tensor_bytes` keep the mapping alive until they are dropped."""
        mm = self._mm
        if mm is None:
            return
        self.metadata._detach()
        self._u8 = None
        self._mm = None
        _close_map(mm)

    def __enter__(self) -> "GGUFFile":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return (f"<GGUFFile {self.path!r} v{getattr(self, 'version', '?')}: "
                f"{len(getattr(self, 'tensors', ()))} tensors, "
                f"{len(getattr(self, 'metadata', ()))} metadata keys, {state}>")


def _not_regular_kind(mode: int) -> str | None:
    """None for a regular file, else what the path is, in words (a directory
    is the caller's to refuse first, as the OSError open() would raise)."""
    if stat.S_ISREG(mode):
        return None
    for test, kind in ((stat.S_ISFIFO, "a FIFO or pipe"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return kind
    return f"file type {stat.S_IFMT(mode):#o}"


def _close_map(mm) -> None:
    try:
        mm.close()
    except BufferError:  # arrays still view it: the map goes when they do
        pass


def open_gguf(path) -> GGUFFile:
    """Open and parse a GGUF file (memory-mapped, read-only).

    Raises :class:`~cupyquant.errors.GGUFError` for a file that is not valid
    GGUF (and ``OSError`` when it cannot be opened at all)."""
    return GGUFFile(path)
