"""Timing helpers for the GPU benchmarks: CUDA/HIP events, rotation of input
buffers (so the L2 cache cannot serve repeated runs) and the copy ceiling."""

from __future__ import annotations

import pytest


def require_gpu():
    from cupyquant.gpu.platform import gpu_available
    if not gpu_available():
        pytest.skip("no usable GPU")
    import cupy
    return cupy


def event_time_s(cp, fn, reps: int = 20, warmup: int = 3, batch: int = 10) -> float:
    """Median seconds per call of ``fn``, timed with events around batches of
    ``batch`` back-to-back calls: the launches queue up, so the figure is the
    device time per call, not the Python overhead of one isolated call."""
    for _ in range(warmup):
        fn()
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(reps):
        start, end = cp.cuda.Event(), cp.cuda.Event()
        start.record()
        for _ in range(batch):
            fn()
        end.record()
        end.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, end) / 1e3 / batch)
    times.sort()
    return times[len(times) // 2]


_copy_cache = {}


def copy_bandwidth(cp, nbytes: int = 1 << 30) -> float:
    """Device-to-device copy bandwidth in bytes/s, counting bytes read + written."""
    if nbytes not in _copy_cache:
        src = cp.ones(nbytes, cp.uint8)
        dst = cp.empty_like(src)
        t = event_time_s(cp, lambda: cp.cuda.runtime.memcpyAsync(
            dst.data.ptr, src.data.ptr, nbytes, cp.cuda.runtime.memcpyDeviceToDevice,
            cp.cuda.get_current_stream().ptr), reps=20)
        _copy_cache[nbytes] = 2 * nbytes / t
        del src, dst
    return _copy_cache[nbytes]
