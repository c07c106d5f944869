"""The package's one door to the GPU: its two kernel modules, each kernel's
occupancy and dynamic shared memory, the split-K workspace and counters, the
float16 copy of float32 activations, and the launch / device queries of
cupyquant.gpu. The other modules call these through this module
(``rt.launch``, ``rt._occupancy``), so that one monkeypatch in a test or
probe reaches every caller."""

from __future__ import annotations

import threading

import numpy as np

from .. import matmul_kernels as mk
from ..gpu.launch import clusters_usable, function_handle, launch, max_active_clusters, pdl_usable  # noqa: F401
from ..gpu.platform import backend, cuda_sm, cupy_module, device_info  # noqa: F401

#: Driver attribute numbers where CuPy's driver module lacks the names.
_CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
_CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1
#: ``numpy.dtype(dt).name``, remembered (the kernel names' memo, one for both).
_dtype_name = mk.dtype_name


def _function(name: str):
    from ..gpu.modules import get_function
    return get_function(mk.MODULE_KEY, mk.matmul_source, name)


def _sm90_function(name: str):
    from ..gpu.modules import compile_options, get_function
    return get_function(mk.SM90_MODULE_KEY, mk.matmul_sm90_source, name, compile_options(mk.SM90_OPTIONS))


def _weight_mode(w, row_bytes: int) -> int:
    ptr = w.data.data.ptr
    if ptr % 16 == 0 and row_bytes % 16 == 0:
        return 2
    return 1 if ptr % 2 == 0 else 0


_ws_lock = threading.Lock()
_counters: dict = {}


def _split_counters(cp, n: int, dev: int):
    """Zeroed int32 tile counters for split-K on the current stream (the
    kernel leaves them zero again)."""
    key = (dev, cp.cuda.get_current_stream().ptr)
    with _ws_lock:
        arr = _counters.get(key)
        if arr is None or arr.size < n:
            arr = cp.zeros(max(n, 1024), dtype=cp.int32)
            _counters[key] = arr
    return arr


def _split_k_args(cp, splits: int, rows: int, N: int, tiles: int, dev: int, queues: bool = False) -> tuple:
    """(workspace, counters) arguments of a matrix-vector launch: float32
    partial sums of ``splits`` K ranges for ``rows`` x N outputs (null when K
    is not split), and the tile counters followed, with ``queues`` (persistent
    x_shared kernels), by two per split: the next tile and the thread blocks
    done (null when neither is needed)."""
    ws = cp.empty(splits * rows * N, dtype=cp.float32) if splits > 1 else np.uint64(0)
    if splits <= 1 and not queues:
        return ws, np.uint64(0)
    return ws, _split_counters(cp, tiles + (2 * splits if queues else 0), dev)


_occ_cache: dict = {}


def _occupancy(cp, kern, smem: int) -> int:
    """Resident thread blocks per multiprocessor for ``kern`` (256 threads)."""
    key = (cp.cuda.Device().id, id(kern), smem)  # the function object: one per module and device
    n = _occ_cache.get(key)
    if n is None:
        n = 0
        try:
            n = int(cp.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(function_handle(kern), mk.THREADS,
                                                                             smem))
        except Exception:
            pass
        if n <= 0:
            n = max(1, min(8, (227 << 10) // (smem + 1024)))
        _occ_cache[key] = n
    return n


def _kernel_with_smem(cp, name: str, smem: int, function=None):
    """The kernel ``name`` of the matmul module (or of ``function``'s, e.g.
    _sm90_function), allowed ``smem`` bytes of dynamic shared memory."""
    kern = (function or _function)(name)
    if smem > (48 << 10):
        key = (cp.cuda.Device().id, id(kern), smem)  # per function object, not name: two modules
        if key not in _smem_set:                     # may hold kernels of the same name
            _set_max_dynamic_smem(cp, kern, smem)
            _smem_set.add(key)
    return kern


def _static_smem(cp, kern) -> int:
    """``kern``'s static shared memory in bytes (0 where it cannot be read)."""
    try:
        return int(kern.shared_size_bytes)  # cupy.RawKernel
    except AttributeError:
        pass
    try:
        attr = getattr(cp.cuda.driver, "CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES", _CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES)
        return int(cp.cuda.driver.funcGetAttribute(attr, function_handle(kern)))
    except Exception:
        return 0


def _as_f16(cp, x2):
    """float16 x for the kernels that read it as such: x itself, or a fresh
    (aligned, contiguous) copy rounded to nearest-even by the format
    registry's F32 -> float16 kernel, bandwidth-tuned for the dequantization
    (CuPy's astype took 39 us of the 154 of a 512 x 14336 float32 product on
    the H200, notes/h200_s16 run 6)."""
    if x2.dtype == cp.float16:
        return x2
    from ..formats import FORMATS
    from ..gpu.dequant import launch_dequant
    x16 = cp.empty(x2.shape, dtype=cp.float16)
    if x2.dtype == cp.float32 and x2.flags.c_contiguous and x2.size:
        launch_dequant(FORMATS["F32"], x2.reshape(-1).view(cp.uint8), x16.reshape(-1))
    else:
        x16[...] = x2
    return x16


_smem_set: set = set()


def _set_max_dynamic_smem(cp, kern, nbytes: int) -> None:
    """Allow ``nbytes`` of dynamic shared memory (over the 48 KiB default)."""
    try:
        for _ in range(3):  # cupy.RawKernel; read back (loads a lazily loaded function)
            if kern.max_dynamic_shared_size_bytes >= nbytes:
                return
            kern.max_dynamic_shared_size_bytes = nbytes
        return
    except AttributeError:
        pass
    attr = getattr(cp.cuda.driver, "CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES",
                   _CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
    cp.cuda.driver.funcSetAttribute(function_handle(kern), attr, nbytes)
