"""Host time of one cupyquant.matmul call against CuPy's floor for the same launches, measured in the same run.

    pytest benchmarks/test_bench_matmul_host.py --benchmark-only    # pytest-benchmark
    python benchmarks/test_bench_matmul_host.py [--json FILE]

Token generation called from Python outside a CUDA graph queues one small
product at a time. The GPU finishes a 4096 x 4096 matrix-vector product in
about 5 us, so such calls are bound by the host: checking the arguments,
choosing the path and the plan, and queueing the launches.

Measured: wall-clock time a call over CALLS calls queued back to back (the
same weights and x, so the GPU keeps up), ``out=`` given and not; the stream
is synchronised outside the timed loop. Beside it the GPU time of the same
call from CUDA-graph replays (gpu_timing): where that is the larger, the
calls were bound by the GPU and the row says so.

Ceilings measured in the same run:
- the floor: the kernel launches of one matmul call, recorded, queued again
  through the same launch function (CuPy's RawKernel call, or the driver's
  cuLaunchKernelEx where a launch needs it) with the same arguments, plus
  the output allocation where matmul makes one. No CuPy-based call can cost
  less; the difference is the package's own Python.
- ``cupy.matmul`` on float16 weights of the same shape (cuBLAS through CuPy),
  what the caller would otherwise call.
Skipped without a GPU.
"""

from __future__ import annotations

import json
import statistics
import sys
import time

import pytest

from cupyquant.gpu.platform import cupy_module, device_info, gpu_available
from gpu_timing import gpu_seconds_per_call
from test_bench_matmul import random_q4_0_device

CALLS = 2000
REPEATS = 5
#: (N, K, M, x dtype): the matrix-vector sizes of a decode step, and one
#: matrix-matrix size for comparison (bound by the GPU: flagged).
CONFIGS = [(4096, 4096, 1, "float16"), (4096, 4096, 1, "float32"), (4096, 4096, 8, "float16"),
           (4096, 4096, 8, "float32"), (14336, 4096, 1, "float16"), (4096, 4096, 512, "float16")]


def host_seconds_per_call(fn, calls: int = CALLS, repeats: int = REPEATS) -> float:
    """Median over ``repeats`` of the wall-clock seconds a call of ``fn``
    takes, ``calls`` calls queued back to back (synchronised outside)."""
    stream = cupy_module().cuda.get_current_stream()
    fn()
    stream.synchronize()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t0) / calls)
        stream.synchronize()
    return statistics.median(times)


def recorded_launches(call) -> list:
    """(launch function, kernel, grid, block, args, keywords) of every launch
    that ``call()`` queues through cupyquant's launch function (the matmul
    kernels and the float32 -> float16 conversion)."""
    from cupyquant.gpu import dequant
    from cupyquant.qmatmul import runtime as rt
    real, seen = rt.launch, []

    def record(kern, grid, block, args, **kw):
        seen.append((real, kern, grid, block, tuple(args), kw))
        real(kern, grid, block, args, **kw)

    rt.launch = dequant.launch = record
    try:
        call()
    finally:
        rt.launch = dequant.launch = real
    return seen


def measure(n: int, k: int, m: int, x_dtype: str):
    """The figures of one configuration, and its matmul call (``out=`` given)."""
    cp = cupy_module()
    from cupyquant.qmatmul import choose_path, matmul
    w = random_q4_0_device(n, k, seed=1)
    w16 = (cp.random.RandomState(2).standard_normal((n, k), dtype=cp.float32) * 0.02).astype(cp.float16)
    x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(x_dtype)
    x16 = x.astype(cp.float16)
    out = cp.empty((m, n), dtype=x_dtype)
    out16 = cp.empty((m, n), dtype=cp.float16)
    launches = recorded_launches(lambda: matmul(x, w, out=out))
    assert launches, "matmul queued no launch through cupyquant's launch function"

    def floor(alloc: bool):
        if alloc:
            cp.empty((m, n), dtype=x_dtype)
        for launch, kern, grid, block, args, kw in launches:
            launch(kern, grid, block, args, **kw)

    host = {
        "matmul_out": host_seconds_per_call(lambda: matmul(x, w, out=out)),
        "matmul": host_seconds_per_call(lambda: matmul(x, w)),
        "floor_out": host_seconds_per_call(lambda: floor(False)),
        "floor": host_seconds_per_call(lambda: floor(True)),
        "cupy_matmul_out": host_seconds_per_call(lambda: cp.matmul(x16, w16.T, out=out16)),
        "cupy_matmul": host_seconds_per_call(lambda: cp.matmul(x16, w16.T)),
    }
    gpu, method, _ = gpu_seconds_per_call([lambda: matmul(x, w, out=out)])
    info = {"shape": f"{n}x{k}", "M": m, "x_dtype": x_dtype,
            "path": choose_path(m, x_dtype, cp.cuda.Device().id, n, k), "launches": len(launches),
            "gpu_us": gpu * 1e6, "gpu_timing": method}
    info.update({f"{key}_us": t * 1e6 for key, t in host.items()})
    info["ratio_to_floor_out"] = host["matmul_out"] / host["floor_out"]
    info["ratio_to_floor"] = host["matmul"] / host["floor"]
    info["ratio_to_cupy_matmul"] = host["matmul"] / host["cupy_matmul"]
    info["bound"] = "host" if host["matmul_out"] > gpu else "GPU (the host figure is the GPU's)"
    return info, lambda: matmul(x, w, out=out)


@pytest.mark.skipif(not gpu_available(), reason="no usable GPU (CuPy)")
@pytest.mark.parametrize("n,k,m,x_dtype", CONFIGS)
def test_bench_matmul_host(benchmark, n, k, m, x_dtype):
    cp = cupy_module()
    info, call = measure(n, k, m, x_dtype)

    def calls():
        for _ in range(CALLS):
            call()
        cp.cuda.get_current_stream().synchronize()

    benchmark.extra_info.update(info)
    benchmark.extra_info["note"] = f"one round = {CALLS} calls (out= given) and a synchronize; *_us are per call"
    benchmark.pedantic(calls, rounds=3, iterations=1, warmup_rounds=1)


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write all figures to this file")
    args = ap.parse_args(argv)
    if not gpu_available():
        print("no usable GPU")
        return 0
    cp = cupy_module()
    dev = device_info(cp.cuda.Device().id)
    print(f"device: {dev.get('name')} ({dev.get('arch')}); host us a call, {CALLS} calls, median of {REPEATS}")
    print(f"{'shape':>12} {'M':>4} {'x':>7} {'path':>7} {'matmul':>7} {'floor':>7} {'ratio':>6} "
          f"{'no out=':>7} {'floor':>7} {'ratio':>6} {'cp.matmul':>9} {'GPU us':>7}  bound")
    rows = []
    for n, k, m, xd in CONFIGS:
        r, _ = measure(n, k, m, xd)
        rows.append(r)
        print(f"{r['shape']:>12} {m:>4} {xd:>7} {r['path']:>7} {r['matmul_out_us']:7.2f} {r['floor_out_us']:7.2f} "
              f"{r['ratio_to_floor_out']:6.2f} {r['matmul_us']:7.2f} {r['floor_us']:7.2f} "
              f"{r['ratio_to_floor']:6.2f} {r['cupy_matmul_us']:9.2f} {r['gpu_us']:7.2f}  {r['bound']}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": dev, "calls": CALLS, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
