"""``cupyquant.matmul``: the argument checks, the choice of path (by M, the
activations' dtype, the platform and the weights' shape) and the hand-over
to that path's module. Also the host path for NumPy activations."""

from __future__ import annotations

import functools
import math

import numpy as np

from .. import matmul_kernels as mk
from ..errors import UnsupportedFormatError
from ..formats import FORMATS
from ..quantized import QuantizedTensor
from . import dequant_gemm, matvec, mma, runtime as rt, wgmma as wg


PATHS = ("matvec", "mma", "dequant_gemm", "wgmma")
#: Kernels forced for tests and comparisons: the portable ones (any platform)
#: and the two NVIDIA sm_80+ matrix-vector kernels ("matvec_int8": int8 tensor
#: cores, chunks of 8 rows; "matvec_f16tc": float16 tensor cores,
#: chunks of 16 / 8 rows), whatever M.
_TEST_PATHS = ("matvec_generic", "mma_generic", "matvec_int8", "matvec_f16tc")
#: Auto path: matrix-vector up to this many activation rows (float16 / float32
#: x) on NVIDIA sm_80+ (chunks of 16 / 8 rows, each one pass over the weights),
#: and elsewhere (portable kernel, chunks of 8); above WGMMA_FROM_M rows the
#: wgmma kernel instead where its grid is large (WGMMA_MIN_BLOCKS_PER_SM).
#: H200, float16 x, matvec / dequant_gemm us (notes/h200_s14 run 7): M = 24:
#: 4096^2 21.5 / 23.5, 4096 x 14336 66.8 / 75.0; M = 32: 24.3 / 23.7, 81.2 /
#: 75.4; M = 48: 35.5 / 24.2, 126.4 / 75.9 (session 13 and before: 48).
#: float32 x: M = 16 24.5 / 27.2 and 70.0 / 79.8.
MATVEC_MAX_M = {"float16": 32, "float32": 16}
MATVEC_MAX_M_PORTABLE = 8
#: Auto path on NVIDIA sm_80+ above MATVEC_MAX_M where "wgmma" is not
#: available: "dequant_gemm" (measured faster than the mma module's mma.sync
#: kernel on an H100) or "mma".
NVIDIA_LARGE_M_PATH = "dequant_gemm"


class MatmulFormatError(UnsupportedFormatError, TypeError):
    """The weight is not in a format that the fused matmul supports (Q4_0)."""


_RESULT_DTYPES = ("float32", "float16", "bfloat16")
_Q4_0 = FORMATS["Q4_0"]


def _check_weight(w) -> tuple[int, int]:
    """The weight's checks, on the GPU and on the host. Returns (N, K)."""
    if not isinstance(w, QuantizedTensor):
        raise TypeError(f"matmul: w must be a cupyquant.QuantizedTensor, got {type(w).__name__}")
    if w.format is not _Q4_0 and w.format.name != "Q4_0":   # (the registry's instance: no enum lookup)
        raise MatmulFormatError(f"matmul: fused matmul supports Q4_0 weights only, got {w.format.name}")
    if w.ndim != 2:
        raise ValueError(f"matmul: w must be 2-D (N, K), got shape {w.shape}")
    N, K = w.shape
    if K % 32:
        raise ValueError(f"matmul: K = {K} is not a multiple of the Q4_0 block size 32")
    return N, K


def _check_args(x, w, out, dtype, path):
    """Everything that can be checked without touching the GPU. Returns (cp, N, K)."""
    N, K = _check_weight(w)
    if path is not None and path not in PATHS + _TEST_PATHS:
        raise ValueError(f"matmul: path must be None or one of {', '.join(PATHS)}, got {path!r}")
    cp = rt.cupy_module()
    if cp is None or not isinstance(x, cp.ndarray):
        raise TypeError(f"matmul: x must be a CuPy array (the fused matmul) or a NumPy array "
                        f"(the host path), got {type(x).__module__}.{type(x).__name__}")
    if not isinstance(w.data, cp.ndarray):
        raise TypeError("matmul: the weight's blocks must be on the GPU (a CuPy uint8 array); "
                        "use cupy.asarray on QuantizedTensor.data first")
    if w.data.dtype != cp.uint8 or not w.data.flags.c_contiguous:
        raise ValueError("matmul: the weight's blocks must be a contiguous CuPy uint8 array")
    if x.dtype not in (cp.float16, cp.float32):
        raise TypeError(f"matmul: x must be float16 or float32, got {x.dtype}")
    if x.ndim < 1 or x.shape[-1] != K:
        raise ValueError(f"matmul: x has shape {x.shape}, its last dimension must be K = {K} "
                         f"(w has shape {w.shape})")
    if x.device.id != w.data.device.id:
        raise ValueError(f"matmul: x is on device {x.device.id}, w on device {w.data.device.id}")
    res_dtype = cp.dtype(x.dtype if dtype is None else dtype)
    if rt._dtype_name(res_dtype) not in _RESULT_DTYPES:
        raise TypeError(f"matmul: result dtype must be float32, float16 or bfloat16, got {res_dtype}")
    if out is not None:
        if not isinstance(out, cp.ndarray):
            raise TypeError(f"matmul: out must be a CuPy array, got {type(out).__name__}")
        if dtype is not None and out.dtype != res_dtype:
            raise TypeError(f"matmul: dtype={res_dtype} disagrees with out.dtype={out.dtype}")
        if rt._dtype_name(out.dtype) not in _RESULT_DTYPES:
            raise TypeError(f"matmul: out must be float32, float16 or bfloat16, got {out.dtype}")
        want = tuple(x.shape[:-1]) + (N,)
        if tuple(out.shape) != want:
            raise ValueError(f"matmul: out has shape {out.shape}, expected {want}")
        if not out.flags.c_contiguous:
            raise ValueError("matmul: out must be C-contiguous")
        if out.device.id != x.device.id:
            raise ValueError(f"matmul: out is on device {out.device.id}, x on device {x.device.id}")
    return cp, N, K


@functools.lru_cache(maxsize=None)  # asked on every call
def _tensor_cores(dev_id: int) -> bool:
    return rt.cuda_sm(dev_id) >= 80


def choose_path(M: int, x_dtype, dev_id: int = 0, N: int | None = None, K: int | None = None) -> str:
    """The path ``path=None`` takes for M activation rows of ``x_dtype``, N
    weight rows and K (None: many). Where the weights do not allow "wgmma",
    matmul takes :func:`_path_without_wgmma` instead."""
    name = rt._dtype_name(x_dtype)
    if _tensor_cores(dev_id):
        if M > wg.WGMMA_FROM_M.get(name, 16) and wg.WGMMA_AUTO and wg.wgmma_available(dev_id):
            sms = rt.device_info(dev_id).get("sm_count", 1)
            blocks = wg._wgmma_blocks(M, N, 128) if N is not None else None
            if blocks is None or blocks >= wg.WGMMA_MIN_BLOCKS_PER_SM * sms:
                return "wgmma"
            if K is not None:
                rows, _, splits, _ = wg._wgmma_choice(M, N, K, sms)
                if rows != mk.WGMMA_ROWS or (K >= wg.WGMMA_SPLIT_MIN_K and splits > 1):
                    return "wgmma"  # 64-row blocks filling a wave, or split over K
    return _path_without_wgmma(M, name, dev_id)


def _path_without_wgmma(M: int, x_dtype_name: str, dev_id: int) -> str:
    if _tensor_cores(dev_id):
        return "matvec" if M <= MATVEC_MAX_M.get(x_dtype_name, 8) else NVIDIA_LARGE_M_PATH
    return "matvec" if M <= MATVEC_MAX_M_PORTABLE else "dequant_gemm"


def matmul(x, w, *, out=None, dtype=None, path=None):
    """``x @ w.T`` for a Q4_0 :class:`~cupyquant.QuantizedTensor` ``w`` of shape (N, K).

    x: CuPy array (..., K), float16 or float32. Returns (..., N) in x's dtype,
    or ``dtype`` (float32, float16, bfloat16), or writes into ``out``
    (C-contiguous, shape (..., N)). ``path``: None (automatic), "matvec",
    "mma", "dequant_gemm" or "wgmma" (see the module docstring). Runs on the
    current stream of x's device.

    With NumPy x and ``w``'s blocks in host memory the product runs on the
    host instead (cupyquant.host_matmul: W dequantized a slab at a time,
    float32 BLAS; float32 / float16 results, ``path`` None).
    """
    if isinstance(x, np.ndarray):
        from ..host_matmul import check_host_args, host_matmul
        _check_weight(w)
        N, K, res_dtype = check_host_args(x, w, out, dtype, path)
        return host_matmul(x, w, N, K, res_dtype, out=out)
    cp, N, K = _check_args(x, w, out, dtype, path)
    res_dtype = out.dtype if out is not None else cp.dtype(x.dtype if dtype is None else dtype)
    lead = tuple(x.shape[:-1])
    M = math.prod(lead)
    with x.device:
        if out is None:
            out = cp.empty(lead + (N,), dtype=res_dtype)
        if M == 0:
            return out
        # (a view costs about a microsecond of host time: none where x and
        # out are 2-D already)
        x2 = x if x.ndim == 2 else x.reshape(M, K)
        if not x2.flags.c_contiguous or x2.data.ptr % 16:
            x2 = cp.array(x2, order="C", copy=True)
        y2 = out if out.ndim == 2 else out.reshape(M, N)
        dev = x.device.id
        auto = path is None
        if auto:
            path = choose_path(M, x.dtype, dev, N, K)
        if path == "wgmma":
            why = wg._wgmma_unusable(w, N, K, dev)
            if why is not None:
                if not auto:
                    raise ValueError(f"matmul: path='wgmma' {why}")
                path = _path_without_wgmma(M, rt._dtype_name(x.dtype), dev)
        if path == "matvec":
            if not _tensor_cores(dev):
                matvec._matvec_gen(cp, x2, w, y2, N, K, dev)
            elif matvec._int8_matvec_for(M, x2.dtype):
                matvec._matvec_int8(cp, x2, w, y2, N, K, dev)
            else:
                matvec._matvec_tc(cp, x2, w, y2, N, K, dev)
        elif path in ("matvec_int8", "matvec_f16tc"):
            if not _tensor_cores(dev):
                raise ValueError(f"matmul: path={path!r} needs NVIDIA tensor cores (sm_80 or newer)")
            (matvec._matvec_int8 if path == "matvec_int8" else matvec._matvec_tc)(cp, x2, w, y2, N, K, dev)
        elif path == "matvec_generic":
            matvec._matvec_gen(cp, x2, w, y2, N, K, dev)
        elif path == "mma":
            if _tensor_cores(dev):
                mma._mma_tc(cp, x2, w, y2, N, K)
            else:
                mma._mma_gen(cp, x2, w, y2, N, K)
        elif path == "mma_generic":
            mma._mma_gen(cp, x2, w, y2, N, K)
        elif path == "wgmma":
            wg._wgmma(cp, x2, w, y2, N, K, dev)
        else:
            dequant_gemm._dequant_gemm(cp, x2, w, y2, N, K)
    return out
