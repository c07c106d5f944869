"""Compiled kernel modules: one ``cupy.RawModule`` per source and device,
compiled once per process (thread-safe), reusing CuPy's on-disk cache."""

from __future__ import annotations

import threading

import numpy as np

from .platform import backend, cupy_module

_lock = threading.Lock()
_modules: dict = {}
_tables: dict = {}


def compile_options(extra: tuple = ()) -> tuple:
    """Options for the backend's runtime compiler. Contraction of a*b+c into an
    FMA is off: the dequantization kernels must match NumPy bit for bit."""
    if backend() == "rocm":
        # keep float32 subnormals (NumPy does); clang's HIP default, stated explicitly
        return ("-std=c++17", "-ffp-contract=off", "-fno-gpu-flush-denormals-to-zero") + tuple(extra)
    return ("--std=c++17", "--fmad=false") + tuple(extra)


def get_module(key: str, source: str, options: tuple | None = None):
    """The RawModule for ``source`` on the current device."""
    cp = cupy_module()
    dev = cp.cuda.Device().id
    cache_key = (key, dev, hash(source), options)
    mod = _modules.get(cache_key)
    if mod is None:
        with _lock:
            mod = _modules.get(cache_key)
            if mod is None:
                mod = cp.RawModule(code=source,
                                   options=compile_options() if options is None else options)
                mod.compile()  # compile now, under the lock, not at first launch
                _modules[cache_key] = mod
    return mod


_functions: dict = {}


def get_function(key: str, source, name: str, options: tuple | None = None):
    """A kernel of the module, cached per device (launch paths call this every
    time). ``source``: the module's text, or a function returning it, called
    only when the kernel is not cached yet (joining the matmul module's
    150 KB of source took 3.5 us of every call that looked a kernel up)."""
    cache_key = (key, name, cupy_module().cuda.runtime.getDevice(), options)
    fn = _functions.get(cache_key)
    if fn is None:
        fn = get_module(key, source() if callable(source) else source, options).get_function(name)
        _functions[cache_key] = fn
    return fn


def device_table(key: str, table_fn):
    """A constant table as a device array, built once per device from the host
    array that ``table_fn()`` returns (the same one the NumPy decoder uses)."""
    cp = cupy_module()
    dev = cp.cuda.Device().id
    arr = _tables.get((key, dev))
    if arr is None:
        with _lock:
            arr = _tables.get((key, dev))
            if arr is None:
                host = np.ascontiguousarray(table_fn())
                arr = cp.asarray(host)
                _tables[(key, dev)] = arr
    return arr
