"""Kernel launches with programmatic dependent launch (PDL) where it exists.

A kernel launched with CUDA's programmatic-stream-serialization attribute
(sm_90 and newer) may be scheduled while the previous kernel of its stream is
still running; the kernel itself waits (``griddepcontrol.wait``: the
``CQ_GRID_DEPENDENCY()`` and ``CQ_GRID_WAIT()`` macros of ``hip/common.h``)
before it touches global memory, so results are those of plain stream order.
What it saves is the gap between two kernels: the next grid's launch and
thread-block start overlap the previous grid's tail. Only kernels that begin
with one of those macros may be launched with ``pdl=True``; everything else, and every launch on ROCm, on older GPUs,
with a driver lacking ``cuLaunchKernelEx`` or with ``PDL`` off, goes through
CuPy's ordinary launch.

CuPy has no way to pass launch attributes, so the PDL launch calls the CUDA
driver's ``cuLaunchKernelEx`` through ctypes on CuPy's function handle and
stream: it is recorded by stream capture like any launch (CUDA graphs keep the
programmatic edge).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading

import numpy as np

from .platform import cupy_module, cuda_sm

#: Launch the kernels that support it with programmatic dependent launch
#: (environment variable ``CUPYQUANT_PDL=0`` turns it off).
PDL = os.environ.get("CUPYQUANT_PDL", "1").strip().lower() not in ("0", "false", "no", "off")

_CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4  # cuda.h, CUlaunchAttributeID
_CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION = 6


class _AttrValue(ctypes.Union):           # CUlaunchAttributeValue: 64 bytes
    _fields_ = [("pad", ctypes.c_char * 64), ("as_int", ctypes.c_int), ("dims", ctypes.c_uint * 3)]


class _Attr(ctypes.Structure):            # CUlaunchAttribute
    _fields_ = [("id", ctypes.c_int), ("pad", ctypes.c_char * 4), ("value", _AttrValue)]


class _Config(ctypes.Structure):          # CUlaunchConfig
    _fields_ = [("grid", ctypes.c_uint * 3), ("block", ctypes.c_uint * 3),
                ("shared_mem", ctypes.c_uint), ("stream", ctypes.c_void_p),
                ("attrs", ctypes.POINTER(_Attr)), ("num_attrs", ctypes.c_uint)]


_lock = threading.Lock()
_driver = None       # ctypes library, False when unusable
_sm90_devices: dict = {}  # device -> CUDA sm_90+ with a driver that has cuLaunchKernelEx


def _libcuda():
    global _driver
    if _driver is None:
        with _lock:
            if _driver is None:
                lib = False
                for name in ("libcuda.so.1", ctypes.util.find_library("cuda"), "nvcuda.dll"):
                    if not name:
                        continue
                    try:
                        cand = ctypes.CDLL(name)
                        fn = cand.cuLaunchKernelEx
                    except (OSError, AttributeError):
                        continue
                    fn.restype = ctypes.c_int
                    fn.argtypes = [ctypes.POINTER(_Config), ctypes.c_void_p,
                                   ctypes.POINTER(ctypes.c_void_p), ctypes.c_void_p]
                    occ = getattr(cand, "cuOccupancyMaxActiveClusters", None)  # CUDA 12+
                    if occ is not None:
                        occ.restype = ctypes.c_int
                        occ.argtypes = [ctypes.POINTER(ctypes.c_int), ctypes.c_void_p,
                                        ctypes.POINTER(_Config)]
                    lib = cand
                    break
                _driver = lib
    return _driver


def clusters_usable(dev_id: int) -> bool:
    """True when kernels on device ``dev_id`` can be launched as thread block
    clusters (CUDA, sm_90+, a driver with cuLaunchKernelEx)."""
    ok = _sm90_devices.get(dev_id)
    if ok is None:
        ok = _sm90_devices[dev_id] = cuda_sm(dev_id) >= 90 and bool(_libcuda())
    return ok


def pdl_usable(dev_id: int) -> bool:
    """True when launches on device ``dev_id`` can use PDL (CUDA, sm_90+,
    a driver with cuLaunchKernelEx, ``PDL`` on)."""
    return PDL and clusters_usable(dev_id)  # the same devices and driver as clusters


# NumPy scalar type -> (ctypes type, Python conversion).
_C_SCALAR = {np.int64: (ctypes.c_int64, int), np.uint64: (ctypes.c_uint64, int),
             np.int32: (ctypes.c_int32, int), np.uint32: (ctypes.c_uint32, int),
             np.float32: (ctypes.c_float, float)}


def _c_arg(a):
    """A ctypes value for one kernel argument (what CuPy's launch would pass)."""
    conv = _C_SCALAR.get(type(a))
    if conv is not None:
        return conv[0](conv[1](a))
    if isinstance(a, ctypes.Structure):  # passed by value (e.g. a TMA tensor map)
        return a
    if isinstance(a, cupy_module().ndarray):
        return ctypes.c_void_p(a.data.ptr)
    raise TypeError(f"kernel argument of type {type(a).__name__} "
                    f"({getattr(a, 'dtype', '')}) is not supported by the PDL launch")


def _as3(d) -> tuple:
    """A grid or block size (an int or a tuple of up to 3) as 3 dimensions."""
    return (*(d if isinstance(d, tuple) else (d,)), 1, 1)[:3]


# The one attribute every PDL launch passes (read by the driver during the call).
_PDL_ATTR = _Attr()
_PDL_ATTR.id = _CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION
_PDL_ATTR.value.as_int = 1
_PDL_ATTR_PTR = ctypes.pointer(_PDL_ATTR)


def launch(kern, grid, block, args, *, shared_mem: int = 0, stream=None, pdl: bool = False,
           cluster: tuple | None = None) -> None:
    """Launch ``kern`` (a CuPy RawKernel) like ``kern(grid, block, args,
    shared_mem=..., stream=...)``; with ``pdl`` (only for kernels that start
    with CQ_GRID_DEPENDENCY() or CQ_GRID_WAIT()) through cuLaunchKernelEx with the
    programmatic-stream-serialization attribute where :func:`pdl_usable`.
    ``cluster`` (thread blocks a cluster along x, y, z; only where
    :func:`clusters_usable`, which the caller checks: the kernel relies on
    it) launches the grid as thread block clusters. Arguments that are ctypes
    structures (a TMA tensor map) are passed by value, which only the driver
    launch can do: it is then used with or without PDL."""
    cp = cupy_module()
    use_pdl = pdl and cp is not None and pdl_usable(cp.cuda.runtime.getDevice())
    # isinstance(a, ctypes.Structure) for each argument, without a generator:
    # a third of the time (0.5 against 1.4 us for 13 arguments), in launches
    # that are bound by the host.
    by_value = any(map(ctypes.Structure.__instancecheck__, args))
    if not use_pdl and not by_value and cluster is None:
        kern(grid, block, args, shared_mem=shared_mem, stream=stream)
        return
    if not _libcuda():
        need = "a cluster launch" if cluster is not None else "a structure argument"
        raise RuntimeError(f"launching {getattr(kern, 'name', kern)} with {need} "
                           "needs the CUDA driver's cuLaunchKernelEx")
    values = [_c_arg(a) for a in args]
    params = (ctypes.c_void_p * len(values))()
    for i, v in enumerate(values):
        params[i] = ctypes.addressof(v)
    cfg = _config(grid, block, shared_mem,
                  (stream if stream is not None else cp.cuda.get_current_stream()).ptr, cluster, use_pdl)
    status = _libcuda().cuLaunchKernelEx(ctypes.byref(cfg), function_handle(kern), params, None)
    if status != 0:
        raise RuntimeError(f"cuLaunchKernelEx of {getattr(kern, 'name', kern)} failed: "
                           f"CUresult {status} ({_error_name(status)})")


def function_handle(kern) -> int:
    """The CUfunction of a CuPy RawKernel (or of its Function)."""
    return kern.kernel.ptr if hasattr(kern, "kernel") else kern.ptr


def _config(grid, block, shared_mem: int, stream_ptr: int, cluster, pdl: bool) -> _Config:
    """The CUlaunchConfig of a launch (ctypes keeps an attribute array it
    points to alive with it)."""
    cfg = _Config()
    cfg.grid[:] = _as3(grid)
    cfg.block[:] = _as3(block)
    cfg.shared_mem = int(shared_mem)
    cfg.stream = stream_ptr
    if cluster is None:
        cfg.attrs = _PDL_ATTR_PTR if pdl else None
        cfg.num_attrs = 1 if pdl else 0
        return cfg
    attrs = (_Attr * 2)()
    attrs[0].id = _CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION
    attrs[0].value.dims[:] = _as3(cluster)
    if pdl:
        attrs[1] = _PDL_ATTR
    cfg.attrs = attrs
    cfg.num_attrs = 2 if pdl else 1
    return cfg


def max_active_clusters(kern, block, shared_mem: int, cluster) -> int | None:
    """How many thread block clusters of ``cluster`` thread blocks (x, y, z)
    of ``kern`` with ``block`` threads and ``shared_mem`` bytes of dynamic
    shared memory can be resident at once on the current device (the
    driver's cuOccupancyMaxActiveClusters: a cluster's thread blocks must
    share one GPC, so this can be fewer than the thread blocks that fit one
    at a time, divided by the cluster size). None where the driver cannot
    say (no such function, or it failed)."""
    lib = _libcuda()
    fn = getattr(lib, "cuOccupancyMaxActiveClusters", None) if lib else None
    if fn is None:
        return None
    cfg = _config(cluster, block, shared_mem, None, cluster, False)  # one cluster's grid
    n = ctypes.c_int(0)
    status = fn(ctypes.byref(n), function_handle(kern), ctypes.byref(cfg))
    return int(n.value) if status == 0 else None


def _error_name(status: int) -> str:
    lib = _libcuda()
    s = ctypes.c_char_p()
    try:
        lib.cuGetErrorName.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
        if lib.cuGetErrorName(status, ctypes.byref(s)) == 0 and s.value:
            return s.value.decode()
    except AttributeError:
        pass
    return "unknown"
