"""``load_gguf``: every tensor of a GGUF model, dequantized, on the CPU or the GPU.

    tensors = cupyquant.load_gguf("model.gguf", device="cpu")
    tensors["token_embd.weight"]          # NumPy float32, logical (row-major) shape
    tensors.metadata["general.name"]
    tensors.info["token_embd.weight"]     # TensorInfo: ggml type, shape, offset, bytes

A split model (``name-00001-of-00003.gguf`` and its siblings) is loaded whole
from its first part. The CPU path lives here; the GPU path is
:func:`cupyquant.gpu.loader.load_to_gpu`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np
from gguf.constants import Keys

from .errors import GGUFError, UnsupportedFormatError
from .formats import get_format
from .formats.base import HOST_DTYPES
from .gguf_file import GGUFFile, open_gguf

__all__ = ["load_gguf", "open_model", "split_paths", "GGUFTensors"]

#: ``<prefix>-<part>-of-<count>.gguf``, as llama.cpp's gguf-split names the parts.
SPLIT_RE = re.compile(r"^(?P<prefix>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")
#: Above this many bytes of tensor data a progress bar is shown by default
#: (when stderr is a terminal).
PROGRESS_MIN_BYTES = 1 << 30


# --------------------------------------------------------------------- result
class GGUFTensors(Mapping):
    """A loaded model: a read-only mapping name -> array (NumPy on the CPU,
    CuPy on the GPU, or :class:`~cupyquant.quantized.QuantizedTensor` for
    tensors kept quantized), in file order.

    ``metadata``: the (first) file's metadata; ``info``: name ->
    :class:`~cupyquant.gguf_file.TensorInfo`; ``path``: the file (the first
    part of a split model); ``paths``: every part.
    """

    def __init__(self, arrays, files):
        files = list(files)
        self._arrays = dict(arrays)
        self.paths = tuple(f.path for f in files)
        self.path = self.paths[0] if self.paths else None
        self.metadata = files[0].metadata if files else MappingProxyType({})
        info = {}
        for f in files:
            info.update(f.tensors)
        self.info = MappingProxyType(info)

    def __getitem__(self, name):
        return self._arrays[name]

    def __iter__(self):
        return iter(self._arrays)

    def __len__(self) -> int:
        return len(self._arrays)

    def __contains__(self, name) -> bool:
        return name in self._arrays

    @property
    def nbytes(self) -> int:
        """Bytes held by the loaded arrays."""
        return sum(int(getattr(a, "nbytes", 0)) for a in self._arrays.values())

    def __repr__(self) -> str:
        where = "empty"
        if self._arrays:
            first = next(iter(self._arrays.values()))
            where = "on " + str(getattr(first, "device", "cpu"))
        return (f"<GGUFTensors {self.path!r}: {len(self)} tensors, "
                f"{self.nbytes / 2**20:.1f} MiB {where}>")


# ----------------------------------------------------------------- opening
def split_paths(path) -> list[str] | None:
    """The paths of every part when ``path`` names the first part of a split
    model (``...-00001-of-000NN.gguf``), else None. ``path``: str, bytes or
    os.PathLike."""
    path = os.fsdecode(path)   # bytes paths too: the name pattern is a str pattern
    m = SPLIT_RE.match(path)
    if m is None:
        return None
    no, count = int(m["no"]), int(m["count"])
    if count < 1 or not 1 <= no <= count:
        return None
    if no != 1:
        first = f"{m['prefix']}-{1:05d}-of-{count:05d}.gguf"
        raise GGUFError(f"this is part {no} of a {count}-part split model: open the first "
                        f"part, {first}", path=path)
    return [f"{m['prefix']}-{i:05d}-of-{count:05d}.gguf" for i in range(1, count + 1)]


def open_model(path) -> list[GGUFFile]:
    """Open a model: ``[GGUFFile]`` for one file, every part (in order) for
    the first part of a split model. The caller closes them.

    A part of a split model under a name without the ``-0000N-of-0000M``
    pattern is refused (its metadata says it is a part): loaded alone it
    would silently give only some of the model's tensors."""
    path = os.fsdecode(path)
    parts = split_paths(path)
    if parts is None:
        f = open_gguf(path)
        try:
            _check_not_a_part(f)
        except BaseException:
            f.close()
            raise
        return [f]
    count = len(parts)
    missing = [(i, p) for i, p in enumerate(parts, 1) if not os.path.isfile(p)]
    if missing:
        i, p = missing[0]
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise GGUFError(f"part {i} of the {count}-part split model is missing: {p}{more}",
                        path=path)
    files: list[GGUFFile] = []
    try:
        for p in parts:
            files.append(open_gguf(p))
        _check_split(files)
    except BaseException:
        for f in files:
            f.close()
        raise
    return files


def _split_position(f: GGUFFile) -> tuple[int | None, int | None]:
    """(split.no, split.count) from the file's metadata; None where absent or
    not an integer."""
    def integer(key):
        value = f.metadata.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None
    return integer(Keys.Split.LLM_KV_SPLIT_NO), integer(Keys.Split.LLM_KV_SPLIT_COUNT)


def _check_not_a_part(f: GGUFFile) -> None:
    """A file opened under a plain name must not be one part of a split model
    (llama.cpp refuses such a name too)."""
    no, count = _split_position(f)
    if not no and (count is None or count <= 1):
        return
    part = f"part {no + 1}" if no is not None else "a part"
    of = f" of {count}" if count is not None else ""
    first = f"NAME-00001-of-{count:05d}.gguf" if count is not None else "NAME-00001-of-0000M.gguf"
    raise GGUFError(f"this file is {part}{of} of a split model ({Keys.Split.LLM_KV_SPLIT_NO} = "
                    f"{no}, {Keys.Split.LLM_KV_SPLIT_COUNT} = {count}); alone it holds only some "
                    f"of the model's tensors: open the model through its first part, named "
                    f"like {first}, with every part named that way beside it", path=f.path)


def _check_split(files: list[GGUFFile]) -> None:
    count = len(files)
    seen: dict[str, str] = {}
    for i, f in enumerate(files):
        no, n = _split_position(f)
        if no is not None and no != i:
            raise GGUFError(f"{Keys.Split.LLM_KV_SPLIT_NO} is {no}, expected {i} for part "
                            f"{i + 1} of {count}", path=f.path)
        if n is not None and n != count:
            raise GGUFError(f"{Keys.Split.LLM_KV_SPLIT_COUNT} is {n} but the file name says "
                            f"{count} parts", path=f.path)
        for name in f.tensors:
            if name in seen:
                raise GGUFError(f"tensor appears in two parts of the split model "
                                f"({seen[name]} and {f.path})", path=f.path, tensor=name)
            seen[name] = f.path
    total = files[0].metadata.get(Keys.Split.LLM_KV_SPLIT_TENSORS_COUNT)
    if isinstance(total, int) and total != len(seen):
        raise GGUFError(f"{Keys.Split.LLM_KV_SPLIT_TENSORS_COUNT} is {total} but the "
                        f"{count} parts hold {len(seen)} tensors", path=files[0].path)


# -------------------------------------------------------------------- loading
def _is_cpu(device) -> bool:
    return isinstance(device, str) and device.strip().lower() == "cpu"


def _quantized_selector(quantized, files=None):
    """name, format -> keep quantized? None or False keeps none; True keeps
    every block-quantized tensor (F32/F16/BF16 are loaded as arrays); a
    collection of names or a predicate on the name picks exactly those. NumPy
    bools count as bools.

    With ``files`` (the opened model, as both loaders pass it): a collection
    naming tensors the model does not have is a ValueError (a misspelt name
    would otherwise load that tensor dequantized without a word), and tensors
    of shape () are never kept: a QuantizedTensor has at least one dimension,
    so such a tensor (one F32/F16/BF16 value) is an array whatever
    ``quantized`` says, as F32/F16/BF16 tensors are with ``quantized=True``."""
    names = None
    if quantized is None or isinstance(quantized, (bool, np.bool_)):
        if quantized:
            wanted = lambda name, fmt: fmt.block_size > 1
        else:
            wanted = lambda name, fmt: False
    elif callable(quantized):
        wanted = lambda name, fmt: bool(quantized(name))
    else:
        if isinstance(quantized, str):
            names = {quantized}
        else:
            try:
                names = set(quantized)
            except TypeError:
                raise TypeError("quantized must be a bool, a collection of tensor names or a "
                                f"predicate, got {quantized!r}") from None
        wanted = lambda name, fmt: name in names
    if files is None:
        return wanted
    shapes = {name: info.shape for f in files for name, info in f.tensors.items()}
    if names is not None:
        unknown = sorted(names - shapes.keys(), key=repr)
        if unknown:
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            model = files[0].path if files else "the model"
            raise ValueError(f"quantized= names {len(unknown)} tensor(s) not in {model}: "
                             f"{', '.join(map(repr, unknown[:5]))}{more}")
    scalars = {name for name, shape in shapes.items() if not shape}
    if not scalars:
        return wanted
    return lambda name, fmt: name not in scalars and wanted(name, fmt)


def _formats(files):
    """name -> (file, info, format) for every tensor, checking each type can be loaded."""
    out = {}
    for f in files:
        for name, info in f.tensors.items():
            if name in out:
                raise GGUFError(f"tensor appears twice ({out[name][0].path} and {f.path})",
                                path=f.path, tensor=name)
            try:
                fmt = get_format(info.qtype)
            except UnsupportedFormatError as e:
                raise GGUFError(f"{info.qtype.name} tensors cannot be loaded: {e}",
                                path=f.path, tensor=name, offset=info.offset) from None
            out[name] = (f, info, fmt)
    return out


def _host_dtype(dtype) -> np.dtype:
    if dtype is None:
        return np.dtype(np.float32)
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt not in HOST_DTYPES:
        raise ValueError(f"on the CPU dtype must be float32 or float16, got {dtype!r}")
    return dt


def _progress_bar(progress, total: int, desc: str):
    if progress is None:
        progress = (total > PROGRESS_MIN_BYTES and sys.stderr is not None
                    and sys.stderr.isatty())
    if not progress:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                leave=False)


def _out_of_memory(f: GGUFFile, info, fmt, out_dtype) -> MemoryError:
    """The error for a tensor the host has no room for: what was asked, and
    for which file and tensor (NumPy's own error names neither)."""
    if out_dtype is None:   # kept quantized: a copy of its blocks
        what, nbytes = f"a copy of its {fmt.name} blocks", info.nbytes
    else:
        what = f"{fmt.name} dequantized to {out_dtype.name}"
        nbytes = info.n_elements * out_dtype.itemsize
    return MemoryError(f"{f.path}, tensor {info.name!r}: out of memory: shape {info.shape}, "
                       f"{what}, needs {nbytes:,} bytes ({nbytes / 2**30:.2f} GiB)")


def load_cpu(files, *, dtype=None, quantized=False, progress=None, device_map=None):
    """The CPU path of :func:`load_gguf` for opened files (NumPy decoders)."""
    files = list(files)
    if device_map is not None and not (isinstance(device_map, str) and device_map == "auto"):
        raise ValueError("device_map places tensors on GPUs: with the CPU only None or "
                         f"'auto' is accepted, got {device_map!r}")
    out_dtype = _host_dtype(dtype)
    keep = _quantized_selector(quantized, files)
    tensors = _formats(files)
    total = sum(info.nbytes for _, info, _ in tensors.values())
    desc = f"loading {os.path.basename(files[0].path)}" if files else "loading"
    bar = _progress_bar(progress, total, desc)
    arrays = {}
    try:
        for name, (f, info, fmt) in tensors.items():
            raw = f.tensor_bytes(name)
            kept = keep(name, fmt)
            try:
                if kept:
                    from .quantized import QuantizedTensor
                    # A copy, not a view of the map: the result must not change
                    # (or fault) when the file does after load_gguf returns.
                    data = np.array(raw, copy=True)
                    data.setflags(write=False)
                    arrays[name] = QuantizedTensor(fmt, info.shape, data, name=name,
                                                   read_only=True)
                else:
                    try:
                        arrays[name] = fmt.dequant(raw, shape=info.shape, dtype=out_dtype)
                    except ValueError as e:  # a size the reader let through: the file's fault
                        raise GGUFError(f"cannot decode {fmt.name} data: {e}", path=f.path,
                                        tensor=name, offset=info.offset) from None
            except MemoryError as e:
                arrays.clear()   # the traceback keeps this frame, and so these, alive
                raise _out_of_memory(f, info, fmt, None if kept else out_dtype) from e
            del raw
            if bar is not None:
                bar.update(info.nbytes)
    finally:
        if bar is not None:
            bar.close()
    return GGUFTensors(arrays, files)


def load_gguf(path, *, device=None, dtype=None, quantized=False, progress=None,
              device_map=None) -> GGUFTensors:
    """Load every tensor of a GGUF model, dequantized.

    path: a ``.gguf`` file (str, bytes or os.PathLike), or the first part
    (``...-00001-of-000NN.gguf``) of a split model, whose parts are then all
    loaded; a part of a split model under another name is a GGUFError.
    device: ``"cpu"`` for NumPy arrays; None for the GPU when one is usable
    (else the CPU); a GPU id or ``"cuda:N"`` for that GPU.
    dtype: on the CPU float32 (default) or float16; on the GPU see
    :func:`cupyquant.gpu.loader.load_to_gpu`.
    quantized: True keeps every block-quantized tensor as a read-only
    :class:`~cupyquant.quantized.QuantizedTensor` (its raw blocks, on the
    chosen device); a collection of names or a predicate picks tensors. A
    name that is not a tensor of the model is a ValueError; a tensor of shape
    () (one F32/F16/BF16 value) is always loaded as an array.
    progress: True / False, or None for a bar on a terminal for models over 1 GiB.
    device_map: GPU placement (None, "auto" or a dict name -> GPU id).

    Returns a :class:`GGUFTensors` (a read-only mapping name -> array, with
    ``.metadata``, ``.info`` and ``.path``). File problems raise
    :class:`~cupyquant.errors.GGUFError`.
    """
    use_cpu = _is_cpu(device)
    if device is None:
        from .gpu.platform import gpu_available
        use_cpu = not gpu_available()
    files = open_model(path)
    try:
        if use_cpu:
            return load_cpu(files, dtype=dtype, quantized=quantized, progress=progress,
                            device_map=device_map)
        _formats(files)  # the same error for an unloadable type on both paths
        from .gpu.loader import load_to_gpu
        return load_to_gpu(files, device=device, dtype=dtype, quantized=quantized,
                           progress=progress, device_map=device_map)
    finally:
        for f in files:
            f.close()
