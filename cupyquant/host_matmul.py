"""``cupyquant.matmul`` on the host: NumPy x and a Q4_0 QuantizedTensor whose
blocks are in host memory (``load_gguf(..., device="cpu", quantized=True)``).

There is no fused kernel here. W is dequantized exactly to float32 by the
NumPy decoder a slab of rows at a time and each slab is multiplied by NumPy's
matmul (BLAS, float32 accumulation), so the memory beyond the result stays
one slab (HOST_SLAB_BYTES) whatever W's size. The same calls and checks as on
the GPU, so code written for one runs on the other; only ``path`` must be
None (it picks among GPU kernels) and bfloat16 results need the GPU.
"""

from __future__ import annotations

import math

import numpy as np

from .formats.base import HOST_DTYPES

#: float32 weights dequantized at a time: big enough that BLAS runs at speed
#: on a slab, small enough to stay a modest share of a host's memory.
HOST_SLAB_BYTES = 64 << 20


def _result_dtype(x, out, dtype) -> np.dtype:
    want = out.dtype if out is not None and dtype is None else x.dtype if dtype is None else dtype
    try:
        want = np.dtype(want)
    except TypeError:   # NumPy has no bfloat16: say where it is, not that it is unknown
        if str(getattr(want, "__name__", want)) != "bfloat16":
            raise TypeError(f"matmul: unknown result dtype {want!r}") from None
        want = "bfloat16"
    if want not in HOST_DTYPES:
        raise TypeError(f"matmul: on the host the result dtype must be float32 or float16 "
                        f"(bfloat16 only on the GPU), got {want}")
    return want


def check_host_args(x, w, out, dtype, path) -> tuple[int, int, np.dtype]:
    """The host path's argument checks (the GPU path's, where they apply).
    Returns (N, K, result dtype)."""
    if path is not None:
        raise ValueError(f"matmul: path={path!r} picks a GPU kernel; with NumPy x it must be None")
    if not isinstance(w.data, np.ndarray):
        raise TypeError("matmul: x is a NumPy array but the weight's blocks are on the GPU; "
                        "move x there (cupy.asarray) or load the weights with device='cpu'")
    if x.dtype not in HOST_DTYPES:
        raise TypeError(f"matmul: x must be float16 or float32, got {x.dtype}")
    N, K = w.shape
    if x.ndim < 1 or x.shape[-1] != K:
        raise ValueError(f"matmul: x has shape {x.shape}, its last dimension must be K = {K} "
                         f"(w has shape {w.shape})")
    if out is not None and not isinstance(out, np.ndarray):
        raise TypeError(f"matmul: with NumPy x, out must be a NumPy array, got {type(out).__name__}")
    res_dtype = _result_dtype(x, out, dtype)
    if out is not None:
        if dtype is not None and out.dtype != res_dtype:
            raise TypeError(f"matmul: dtype={res_dtype} disagrees with out.dtype={out.dtype}")
        want = tuple(x.shape[:-1]) + (N,)
        if out.shape != want:
            raise ValueError(f"matmul: out has shape {out.shape}, expected {want}")
        if not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError("matmul: out must be C-contiguous and writable")
    return N, K, res_dtype


def host_matmul(x, w, N: int, K: int, res_dtype, out=None):
    """``x @ W.T`` for checked arguments (check_host_args)."""
    lead = tuple(x.shape[:-1])
    M = math.prod(lead)
    if out is None:
        out = np.empty(lead + (N,), dtype=res_dtype)
    if M == 0:
        return out
    x2 = np.ascontiguousarray(x.reshape(M, K), dtype=np.float32)   # float16 -> float32 is exact
    y2 = out.reshape(M, N)
    if np.may_share_memory(x2, y2):   # out over x: a slab's results must not change the next slab's x
        x2 = x2.copy()
    row_bytes = w.format.nbytes_for(K)
    rows = max(1, HOST_SLAB_BYTES // (4 * K))
    for n0 in range(0, N, rows):
        n1 = min(N, n0 + rows)
        slab = w.format.dequant(w.data[n0 * row_bytes:n1 * row_bytes], shape=(n1 - n0, K))
        # float32 products and sums; a float16 result is rounded once, to nearest even
        y2[:, n0:n1] = x2 @ slab.T
    return out
