"""Timing helpers for the GPU benchmarks: GPU seconds per call from CUDA-graph
replays (no Python launch overhead in the figure), rotation of inputs (so the
L2 cache cannot serve repeated runs) and the device-to-device copy ceiling."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from cupyquant.gpu.platform import cupy_module

CALLS_PER_GRAPH = 32
REPLAYS = 7


def require_gpu():
    from cupyquant.gpu.platform import gpu_available
    if not gpu_available():
        pytest.skip("no usable GPU")
    import cupy
    return cupy


_SPIN = r"""
extern "C" __global__ void cq_bench_spin(unsigned long long ns) {
    unsigned long long t0, t;
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t0));
    do { asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t)); } while (t - t0 < ns);
}
"""
_spin_kernel = None


def _spin(ns: int) -> bool:
    """Keep the GPU busy for ``ns`` nanoseconds (CUDA only), so that launches
    queued behind it run back to back."""
    global _spin_kernel
    cp = cupy_module()
    if getattr(cp.cuda.runtime, "is_hip", False):
        return False
    if _spin_kernel is None:
        _spin_kernel = cp.RawKernel(_SPIN, "cq_bench_spin")
    _spin_kernel((1,), (1,), (np.uint64(ns),))
    return True


def gpu_seconds_per_call(calls, min_calls: int = CALLS_PER_GRAPH, replays: int = REPLAYS):
    """(median GPU seconds per call of ``calls`` (zero-argument callables, run
    in rotation), the method used, a function that runs the timed calls once):
    "graph" (replays of a captured CUDA graph), or "queued (reason)" /
    "stream (reason)" (launches queued behind a spin kernel / plainly, when
    capture was refused)."""
    cp = cupy_module()
    n = len(calls)
    per_run = -(-max(min_calls, n) // n) * n
    stream = cp.cuda.Stream(non_blocking=True)
    with stream:
        for f in calls:  # warm-up: compilation, allocations, library handles
            f()
        stream.synchronize()
        method = "graph"
        graph = None
        try:
            stream.begin_capture()
            try:
                for i in range(per_run):
                    calls[i % n]()
            finally:
                graph = stream.end_capture()
            graph.launch(stream)
            stream.synchronize()
        except Exception as exc:  # capture unsupported for some call: time queued launches
            method = f"queued ({type(exc).__name__})"
            graph = None
            try:
                if stream.is_capturing():
                    stream.end_capture()
            except Exception:
                pass
            stream.synchronize()

        def run():
            if graph is not None:
                graph.launch(stream)
            else:
                for i in range(per_run):
                    calls[i % n]()

        spin_ns = 0
        if graph is None:
            # Without a graph, Python's launch overhead could exceed the GPU
            # time: queue the calls behind a spin kernel that outlasts the
            # queueing, so that the events time back-to-back GPU work only.
            t = time.perf_counter()
            run()
            stream.synchronize()
            spin_ns = int(2e9 * (time.perf_counter() - t)) + 2_000_000
        times = []
        for _ in range(replays):
            start, end = cp.cuda.Event(), cp.cuda.Event()
            if spin_ns and not _spin(spin_ns):
                spin_ns = 0
                method = method.replace("queued", "stream")
            start.record(stream)
            run()
            end.record(stream)
            end.synchronize()
            times.append(cp.cuda.get_elapsed_time(start, end) * 1e-3 / per_run)
    return statistics.median(times), method, run


_copy_cache = {}


def copy_bandwidth(cp, nbytes: int = 1 << 30) -> float:
    """Device-to-device copy bandwidth in bytes/s, counting bytes read + written:
    the faster of cudaMemcpyAsync queued back to back (timed with events; each
    copy is long enough that Python's launch overhead is hidden) and CuPy's
    elementwise copy kernel (timed from graph replays). Not a memcpy inside a
    CUDA graph: there the driver makes it a copy-engine node, which measured
    2.77 TB/s on the H200 against 4.26 TB/s for the same copy outside a graph
    (2026-12-01), and a ceiling that low would flatter every ratio."""
    if nbytes not in _copy_cache:
        src = cp.empty(nbytes, cp.uint8)
        src.view(cp.float32)[:] = 1.5
        dst = cp.empty_like(src)
        stream = cp.cuda.get_current_stream()
        kind = cp.cuda.runtime.memcpyDeviceToDevice

        def memcpy():
            cp.cuda.runtime.memcpyAsync(dst.data.ptr, src.data.ptr, nbytes, kind, stream.ptr)

        for _ in range(2):
            memcpy()
        stream.synchronize()
        times = []
        for _ in range(REPLAYS):
            start, end = cp.cuda.Event(), cp.cuda.Event()
            start.record(stream)
            for _ in range(4):
                memcpy()
            end.record(stream)
            end.synchronize()
            times.append(cp.cuda.get_elapsed_time(start, end) * 1e-3 / 4)
        t_memcpy = statistics.median(times)
        t_kernel, _, _ = gpu_seconds_per_call([lambda: cp.copyto(dst, src)], min_calls=8, replays=5)
        _copy_cache[nbytes] = 2 * nbytes / min(t_memcpy, t_kernel)
        del src, dst
    return _copy_cache[nbytes]
