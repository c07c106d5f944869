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
from .gguf_file import GGUFFile, open_gguf

__all__ = ["load_gguf", "open_model", "split_paths", "GGUFTensors"]

#: ``<prefix>-<part>-of-<count>.gguf``, as llama.cpp's gguf-split names the parts.
SPLIT_RE = re.compile(r"^(?P<prefix>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")
#: Above this many bytes of tensor data a progress bar is shown by default
#: (when stderr is a terminal).
PROGRESS_MIN_BYTES = 1 << 30

HOST_DTYPES = (np.dtype(np.float32), np.dtype(np.float16))


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
    model (``...-00001-of-000NN.gguf``), else None."""
    path = os.fspath(path)
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
    the first part of a split model. The caller closes them."""
    path = os.fspath(path)
    parts = split_paths(path)
    if parts is None:
        return [open_gguf(path)]
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


def _check_split(files: list[GGUFFile]) -> None:
    count = len(files)
    seen: dict[str, str] = {}
    for i, f in enumerate(files):
        meta = f.metadata
        no = meta.get(Keys.Split.LLM_KV_SPLIT_NO)
        if isinstance(no, int) and no != i:
            raise GGUFError(f"{Keys.Split.LLM_KV_SPLIT_NO} is {no}, expected {i} for part "
                            f"{i + 1} of {count}", path=f.path)
        n = meta.get(Keys.Split.LLM_KV_SPLIT_COUNT)
        if isinstance(n, int) and n != count:
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


def _quantized_selector(quantized):
    """name, format -> keep quantized? True keeps every block-quantized tensor
    (F32/F16/BF16 are loaded as arrays); a collection of names or a predicate
    on the name picks exactly those."""
    if quantized is None or quantized is False:
        return lambda name, fmt: False
    if quantized is True:
        return lambda name, fmt: fmt.block_size > 1
    if callable(quantized):
        return lambda name, fmt: bool(quantized(name))
    if isinstance(quantized, str):
        names = {quantized}
    else:
        try:
            names = set(quantized)
        except TypeError:
            raise TypeError("quantized must be a bool, a collection of tensor names or a "
                            f"predicate, got {quantized!r}") from None
    return lambda name, fmt: name in names


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


def load_cpu(files, *, dtype=None, quantized=False, progress=None, device_map=None):
    """The CPU path of :func:`load_gguf` for opened files (NumPy decoders)."""
    files = list(files)
    if device_map is not None and not (isinstance(device_map, str) and device_map == "auto"):
        raise ValueError("device_map places tensors on GPUs: with the CPU only None or "
                         f"'auto' is accepted, got {device_map!r}")
    out_dtype = _host_dtype(dtype)
    keep = _quantized_selector(quantized)
    tensors = _formats(files)
    total = sum(info.nbytes for _, info, _ in tensors.values())
    desc = f"loading {os.path.basename(files[0].path)}" if files else "loading"
    bar = _progress_bar(progress, total, desc)
    arrays = {}
    try:
        for name, (f, info, fmt) in tensors.items():
            raw = f.tensor_bytes(name)
            if keep(name, fmt):
                from .quantized import QuantizedTensor
                arrays[name] = QuantizedTensor(fmt, info.shape, np.array(raw, copy=True),
                                               name=name)
            else:
                try:
                    arrays[name] = fmt.dequant(raw, shape=info.shape, dtype=out_dtype)
                except ValueError as e:  # a size the reader let through: still the file's fault
                    raise GGUFError(f"cannot decode {fmt.name} data: {e}", path=f.path,
                                    tensor=name, offset=info.offset) from None
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

    path: a ``.gguf`` file, or the first part (``...-00001-of-000NN.gguf``) of
    a split model, whose parts are then all loaded.
    device: ``"cpu"`` for NumPy arrays; None for the GPU when one is usable
    (else the CPU); a GPU id or ``"cuda:N"`` for that GPU.
    dtype: on the CPU float32 (default) or float16; on the GPU see
    :func:`cupyquant.gpu.loader.load_to_gpu`.
    quantized: True keeps every block-quantized tensor as a
    :class:`~cupyquant.quantized.QuantizedTensor` (its raw blocks, on the
    chosen device); a collection of names or a predicate picks tensors.
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
