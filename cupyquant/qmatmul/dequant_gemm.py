"""The portable large-M path: the weights dequantized to float16 a slab at
a time into a bounded scratch buffer, each slab multiplied by cuBLAS
(called directly into the result's columns on CUDA) or ``cupy.matmul``."""

from __future__ import annotations

import numpy as np

from . import runtime as rt


#: Largest float16 scratch buffer of the "dequant_gemm" path (bytes).
DEQUANT_SCRATCH_BYTES = 256 << 20
_ONE = np.ones(1, np.float32)
_ZERO = np.zeros(1, np.float32)
_CUDA_DTYPE = {"float16": 2, "float32": 0}   # cudaDataType CUDA_R_16F, CUDA_R_32F
_CUBLAS_COMPUTE_32F = 68
_CUBLAS_GEMM_DEFAULT = -1


def gemm_xwT(cp, x16, w16_ptr: int, rows: int, K: int, y, col0: int = 0) -> bool:
    """``y[:, col0:col0 + rows] = x16 @ W.T`` through cuBLAS (CUDA only), W the
    float16 (rows, K) matrix at ``w16_ptr`` and y a C-contiguous (M, N)
    float16/float32 array, written in place (no copy of a column slab, float32
    results straight from the float32 accumulators). Returns False when it
    cannot be used (the caller then uses ``cupy.matmul``). Like ``cupy.matmul``,
    CuPy refuses it under CUDA graph capture (NotImplementedError)."""
    if rt.backend() != "cuda" or rt._dtype_name(y.dtype) not in _CUDA_DTYPE:
        return False
    try:
        from cupy_backends.cuda.libs import cublas
    except ImportError:
        return False
    M, N = y.shape
    handle = cp.cuda.device.get_cublas_handle()
    # Column-major view: y^T (N x M, ld N) = W (op T of K x rows, ld K) . x^T (K x M, ld K).
    cublas.gemmEx(handle, 1, 0, rows, M, K, _ONE.ctypes.data, w16_ptr, 2, K,
                  x16.data.ptr, 2, K, _ZERO.ctypes.data,
                  y.data.ptr + col0 * y.dtype.itemsize, _CUDA_DTYPE[rt._dtype_name(y.dtype)], N,
                  _CUBLAS_COMPUTE_32F, _CUBLAS_GEMM_DEFAULT)
    return True


_raw_gemm_ok = {}
#: The exception that disabled the direct cuBLAS call, if any (diagnostics).
raw_gemm_error = None


def _dequant_gemm(cp, x2, w, y2, N, K):
    from ..gpu.dequant import launch_dequant

    fmt = w.format
    row_bytes = K // 32 * 18
    x16 = rt._as_f16(cp, x2)
    rows = max(1, min(N, DEQUANT_SCRATCH_BYTES // (2 * K)))
    scratch = cp.empty(rows * K, dtype=cp.float16)
    dev = x2.device.id
    for r0 in range(0, N, rows):
        r1 = min(N, r0 + rows)
        wslab = scratch[:(r1 - r0) * K]
        launch_dequant(fmt, w.data[r0 * row_bytes:r1 * row_bytes], wslab)
        if _raw_gemm_ok.get(dev, True):
            try:
                if gemm_xwT(cp, x16, wslab.data.ptr, r1 - r0, K, y2, r0):
                    continue
            except NotImplementedError:  # CuPy refuses cuBLAS under graph capture
                raise
            except Exception as exc:  # e.g. an unexpected cuBLAS binding: use cupy.matmul
                global raw_gemm_error
                raw_gemm_error = exc
                _raw_gemm_ok[dev] = False
        wt = wslab.reshape(r1 - r0, K).T
        if r0 == 0 and r1 == N and y2.dtype == cp.float16:
            cp.matmul(x16, wt, out=y2)
        else:
            y2[:, r0:r1] = cp.matmul(x16, wt)
