"""TMA tensor maps (CUDA ``CUtensorMap``, sm_90+) for kernels that copy tiles
with the tensor memory accelerator: encoded on the host by the driver's
``cuTensorMapEncodeTiled`` through ctypes, and passed to the kernel by value
(a ``__grid_constant__`` parameter) through :func:`cupyquant.gpu.launch.launch`.
CuPy has neither the encoder nor a way to pass a 128-byte structure.
"""

from __future__ import annotations

import ctypes

from .launch import _libcuda

# cuda.h enums
_DTYPE_UINT8 = 0                 # CU_TENSOR_MAP_DATA_TYPE_UINT8
_DTYPE_FLOAT16 = 6               # CU_TENSOR_MAP_DATA_TYPE_FLOAT16
_INTERLEAVE_NONE = 0
SWIZZLE_NONE = 0
SWIZZLE_128B = 3                 # CU_TENSOR_MAP_SWIZZLE_128B
_L2_PROMOTION = {0: 0, 64: 1, 128: 2, 256: 3}  # bytes -> CU_TENSOR_MAP_L2_PROMOTION_*
_OOB_FILL_ZERO = 0               # CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: out-of-bounds elements read as zero


class TensorMap(ctypes.Structure):
    """CUtensorMap: 128 opaque bytes (64-byte aligned on the device)."""
    _fields_ = [("opaque", ctypes.c_uint64 * 16)]


_encode = None


def _encoder():
    global _encode
    if _encode is None:
        lib = _libcuda()
        fn = getattr(lib, "cuTensorMapEncodeTiled", None) if lib else None
        if fn is not None:
            fn.restype = ctypes.c_int
            fn.argtypes = [ctypes.POINTER(TensorMap), ctypes.c_int, ctypes.c_uint32, ctypes.c_void_p,
                           ctypes.POINTER(ctypes.c_uint64), ctypes.POINTER(ctypes.c_uint64),
                           ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint32),
                           ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
        _encode = fn or False
    return _encode


def available() -> bool:
    """True when the CUDA driver has cuTensorMapEncodeTiled (CUDA 12+)."""
    return bool(_encoder())


def f16_rows_tiled(ptr: int, rows: int, cols: int, row_stride_elems: int, box_rows: int, box_cols: int,
                   swizzle: int = SWIZZLE_128B) -> TensorMap:
    """Tensor map of a row-major float16 matrix (``rows`` x ``cols`` at device
    address ``ptr``, rows ``row_stride_elems`` apart) copied in boxes of
    ``box_rows`` x ``box_cols``; rows and columns past the matrix read as zero."""
    return _rows_tiled(_DTYPE_FLOAT16, 2, ptr, rows, cols, row_stride_elems, box_rows, box_cols, swizzle, 256)


def u8_rows_tiled(ptr: int, rows: int, row_bytes: int, box_rows: int, box_bytes: int,
                  l2_promotion: int = 256) -> TensorMap:
    """Tensor map of ``rows`` rows of ``row_bytes`` bytes each (contiguous,
    at device address ``ptr``; e.g. the blocks of a quantized weight) copied
    in boxes of ``box_rows`` rows x ``box_bytes`` bytes, unswizzled; rows past
    the end read as zero. ``l2_promotion``: bytes (0, 64, 128, 256) the L2
    cache fetches around each request."""
    return _rows_tiled(_DTYPE_UINT8, 1, ptr, rows, row_bytes, row_bytes, box_rows, box_bytes, SWIZZLE_NONE,
                       l2_promotion)


def _rows_tiled(dtype: int, elem_bytes: int, ptr: int, rows: int, cols: int, row_stride_elems: int,
                box_rows: int, box_cols: int, swizzle: int, l2_promotion: int) -> TensorMap:
    fn = _encoder()
    if not fn:
        raise RuntimeError("the CUDA driver has no cuTensorMapEncodeTiled (TMA needs CUDA 12 and sm_90)")
    if ptr % 16 or (row_stride_elems * elem_bytes) % 16 or (box_cols * elem_bytes) % 16:
        raise ValueError("a TMA tensor needs a 16-byte aligned address, row stride and box row")
    tmap = TensorMap()
    dims = (ctypes.c_uint64 * 2)(cols, rows)
    strides = (ctypes.c_uint64 * 1)(row_stride_elems * elem_bytes)
    box = (ctypes.c_uint32 * 2)(box_cols, box_rows)
    elem = (ctypes.c_uint32 * 2)(1, 1)
    status = fn(ctypes.byref(tmap), dtype, 2, ctypes.c_void_p(ptr), dims, strides, box, elem,
                _INTERLEAVE_NONE, swizzle, _L2_PROMOTION[l2_promotion], _OOB_FILL_ZERO)
    if status != 0:
        raise RuntimeError(f"cuTensorMapEncodeTiled failed: CUresult {status} "
                           f"({rows} x {cols} of {elem_bytes}-byte elements at {ptr:#x}, box {box_rows} x {box_cols})")
    return tmap
