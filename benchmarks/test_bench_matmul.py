"""Speed of cupyquant.matmul (fused Q4_0 x @ W.T) against its ceilings, measured in the same run.

    pytest benchmarks/test_bench_matmul.py --benchmark-only      # pytest-benchmark
    python benchmarks/test_bench_matmul.py [--json FILE] [--shapes 4096x4096 ...] [--ms 1 8 512]

Every figure is GPU time per call: the calls (rotating among enough weight
buffers that together exceed 2.5x the L2 cache, so that the cache cannot serve
the weights) are captured into a CUDA graph, and the graph's replays are timed
with device events (median of several replays). Where capture is refused, the
calls are queued behind a spin kernel that outlasts the queueing, and timed
with events the same way ("queued"). Ceilings measured in the same run:
the device-to-device copy bandwidth (1 GiB, bytes read + written) and
cuBLAS (the GEMM that ``cupy.matmul`` calls) on float16 weights of the same
shape with float16 activations. Reported: time, quantized-weight bytes per second, its
fraction of the copy bandwidth (M = 1 and 8) and the ratio to cupy.matmul.
Skipped without a GPU.
"""

from __future__ import annotations

import json
import math
import sys

import pytest

from cupyquant.gpu.platform import cupy_module, device_info, gpu_available
from gpu_timing import CALLS_PER_GRAPH, copy_bandwidth, gpu_seconds_per_call

SHAPES = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]
MS = [1, 4, 8, 512]
X_DTYPES = ["float16", "float32"]
L2_FACTOR = 2.5


# ------------------------------------------------------------- test data
def random_q4_0_device(n: int, k: int, seed: int):
    """Random Q4_0 weights made on the device (finite float16 scales),
    read-only as ``load_gguf`` gives them (QuantizedTensor.read_only: the
    stream is synchronised here, and nothing writes them afterwards)."""
    cp = cupy_module()
    from cupyquant import QuantizedTensor
    nb = n * (k // 32)
    rs = cp.random.RandomState(seed)
    raw = rs.randint(0, 256, size=nb * 18, dtype=cp.int32).astype(cp.uint8).reshape(nb, 18)
    d = (rs.standard_normal(nb, dtype=cp.float32) * 0.02).astype(cp.float16)
    raw[:, :2] = d.view(cp.uint8).reshape(nb, 2)
    cp.cuda.get_current_stream().synchronize()
    return QuantizedTensor("Q4_0", (n, k), raw.reshape(-1), read_only=True)


def n_buffers(nbytes: int) -> int:
    l2 = device_info(cupy_module().cuda.Device().id).get("l2_bytes", 0) or (50 << 20)
    return max(2, math.ceil(L2_FACTOR * l2 / nbytes))


class Bench:
    """Weights, baselines and ceilings, made once per process and shape."""

    def __init__(self):
        self.copy_bw = None
        self.blas_error = None
        self._weights = {}
        self._cublas = {}

    def ceiling(self) -> float:
        if self.copy_bw is None:
            self.copy_bw = copy_bandwidth(cupy_module())
        return self.copy_bw

    def weights(self, shape):
        if shape not in self._weights:
            self._weights.clear()  # keep one shape's buffers at a time
            self._cublas.clear()
            cp = cupy_module()
            n, k = shape
            q = [random_q4_0_device(n, k, seed=i) for i in range(n_buffers(n * k // 32 * 18))]
            f16 = [cp.random.RandomState(100 + i).standard_normal((n, k), dtype=cp.float32)
                   .astype(cp.float16) * 0.02 for i in range(n_buffers(n * k * 2))]
            self._weights[shape] = (q, f16)
        return self._weights[shape]

    def cublas_time(self, shape, m):
        key = (shape, m)
        if key not in self._cublas:
            cp = cupy_module()
            _, f16 = self.weights(shape)
            x = cp.random.standard_normal((m, shape[1]), dtype=cp.float32).astype(cp.float16)
            out = cp.empty((m, shape[0]), dtype=cp.float16)

            def blas(w):
                # the cuBLAS call that cupy.matmul makes (CuPy refuses it under
                # graph capture: timed "queued" then, see gpu_seconds_per_call)
                try:
                    if gemm_xwT(cp, x, w.data.ptr, shape[0], shape[1], out):
                        return
                except NotImplementedError:  # under graph capture: CuPy refuses cuBLAS
                    raise
                except Exception as exc:
                    self.blas_error = repr(exc)
                cp.matmul(x, w.T, out=out)

            from cupyquant.qmatmul.dequant_gemm import gemm_xwT
            calls = [lambda w=w: blas(w) for w in f16]
            t, method, _ = gpu_seconds_per_call(calls)
            self._cublas[key] = (t, method)
        return self._cublas[key]

    def measure(self, shape, m, x_dtype, path):
        """Metrics dict for one configuration, plus a function replaying its graph."""
        cp = cupy_module()
        from cupyquant.qmatmul import choose_path, matmul
        q, _ = self.weights(shape)
        n, k = shape
        x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(x_dtype)
        out = cp.empty((m, n), dtype=x_dtype)
        calls = [lambda w=w: matmul(x, w, out=out, path=path) for w in q]
        t, method, run = gpu_seconds_per_call(calls)
        t_blas, blas_method = self.cublas_time(shape, m)
        qbytes = q[0].nbytes
        info = {
            "shape": f"{n}x{k}", "M": m, "x_dtype": x_dtype,
            "path": path or f"auto:{choose_path(m, x_dtype, cp.cuda.Device().id, n, k)}",
            "time_us": t * 1e6,
            "weight_GBps": qbytes / t / 1e9,
            "copy_GBps": self.ceiling() / 1e9,
            "frac_copy": qbytes / t / self.ceiling(),
            "cublas_f16_us": t_blas * 1e6,
            "ratio_to_cublas": t / t_blas,
            "speedup_vs_cublas": t_blas / t,
            "tflops": 2.0 * m * n * k / t / 1e12,
            "weight_buffers": len(q), "timing": method, "cublas_timing": blas_method,
        }
        return info, run


_bench = None


def get_bench() -> Bench:
    global _bench
    if _bench is None:
        _bench = Bench()
    return _bench


def configs(shapes=SHAPES, ms=MS):
    from cupyquant.qmatmul import choose_path
    from cupyquant.qmatmul.matvec import _int8_matvec_for
    dev = cupy_module().cuda.Device().id if gpu_available() else 0
    for shape in shapes:
        for m in ms:
            for xd in X_DTYPES:
                # Where the auto path takes the int8 matrix-vector kernel
                # (MATVEC_INT8_M), also the float16 tensor-core one, for
                # comparison; elsewhere up to 8 rows auto is that kernel already.
                if m <= 8:
                    paths = [None, "matvec_f16tc"] if _int8_matvec_for(m, xd) else [None]
                elif m <= 16:
                    paths = [None]
                else:  # and the large-M path the auto choice is not (wgmma: dequant_gemm)
                    auto = choose_path(m, xd, dev, *shape) if gpu_available() else "dequant_gemm"
                    paths = [None, "dequant_gemm" if auto == "wgmma" else "mma"]
                for p in paths:
                    yield shape, m, xd, p


# ------------------------------------------------------------- pytest-benchmark
@pytest.mark.skipif(not gpu_available(), reason="no usable GPU (CuPy)")
@pytest.mark.parametrize("shape,m,x_dtype,path", list(configs()),
                         ids=lambda v: f"{v[0]}x{v[1]}" if isinstance(v, tuple) else str(v))
def test_bench_matmul(benchmark, shape, m, x_dtype, path):
    cp = cupy_module()
    info, run = get_bench().measure(shape, m, x_dtype, path)

    def replay():
        run()
        cp.cuda.get_current_stream().synchronize()

    benchmark.extra_info.update(info)
    benchmark.extra_info["note"] = (f"one round = {CALLS_PER_GRAPH}+ calls in a CUDA graph; "
                                    f"time_us is the GPU time of one call")
    benchmark.pedantic(replay, rounds=5, iterations=1, warmup_rounds=1)


# ------------------------------------------------------------------- script
def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write all figures to this file")
    ap.add_argument("--shapes", nargs="*", help="e.g. 4096x4096 14336x4096")
    ap.add_argument("--ms", nargs="*", type=int)
    args = ap.parse_args(argv)
    if not gpu_available():
        print("no usable GPU")
        return 0
    shapes = SHAPES if not args.shapes else [tuple(int(v) for v in s.split("x")) for s in args.shapes]
    ms = args.ms or MS
    cp = cupy_module()
    bench = get_bench()
    info = device_info(cp.cuda.Device().id)
    print(f"device: {info.get('name')} ({info.get('arch')}), L2 {info.get('l2_bytes', 0) >> 20} MiB")
    print(f"device-to-device copy: {bench.ceiling() / 1e9:.0f} GB/s (read + write)")
    rows = []
    hdr = (f"{'shape':>12} {'M':>4} {'x':>7} {'path':>18} {'us':>9} {'GB/s':>7} {'%copy':>6} "
           f"{'cuBLAS us':>9} {'t/cuBLAS':>8} {'TFLOP/s':>8}")
    print(hdr)
    for shape, m, xd, p in configs(shapes, ms):
        try:
            r, _ = bench.measure(shape, m, xd, p)
        except Exception as exc:  # report and go on
            print(f"{shape} M={m} {xd} {p}: FAILED {type(exc).__name__}: {exc}")
            continue
        rows.append(r)
        print(f"{r['shape']:>12} {m:>4} {xd:>7} {r['path']:>18} {r['time_us']:9.2f} "
              f"{r['weight_GBps']:7.0f} {100 * r['frac_copy']:5.1f}% {r['cublas_f16_us']:9.2f} "
              f"{r['ratio_to_cublas']:8.3f} {r['tflops']:8.1f}"
              + ("" if r["timing"] == "graph" else f"  [{r['timing']}]"), flush=True)
    from cupyquant.qmatmul import dequant_gemm
    if dequant_gemm.raw_gemm_error is not None:
        print(f"direct cuBLAS call disabled: {dequant_gemm.raw_gemm_error!r}")
    if bench.blas_error:
        print(f"baseline direct cuBLAS call failed: {bench.blas_error}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": info, "copy_GBps": bench.ceiling() / 1e9, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
