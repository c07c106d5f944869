"""The fused matrix-matrix kernels of q4_0_matmul.hip ("mma"): tensor cores
(mma.sync on NVIDIA sm_80+, MFMA / WMMA on AMD) and the portable one."""

from __future__ import annotations

import numpy as np

from .. import matmul_kernels as mk
from . import runtime as rt


def _mma_tc(cp, x2, w, y2, N, K):
    M = x2.shape[0]
    nb = K // 32
    row_bytes = nb * 18
    mode = rt._weight_mode(w, row_bytes)
    x16 = rt._as_f16(cp, x2)
    kern = rt._kernel_with_smem(cp, mk.mm_tc_name(y2.dtype), mk.MM_TC_SMEM)
    bm, bn = mk.MM_TC_TILE
    kern((-(-M // bm), -(-N // bn)), (mk.THREADS,),
         (w.data, np.int64(row_bytes), np.int32(N), np.int32(nb), x16, np.int64(K), np.int32(M),
          y2, np.int64(N), np.int32(mode)),
         shared_mem=mk.MM_TC_SMEM)


def _mma_gen(cp, x2, w, y2, N, K):
    M = x2.shape[0]
    nb = K // 32
    x16 = rt._as_f16(cp, x2)
    bm, bn = mk.MM_GEN_TILE
    kern = rt._function(mk.mm_gen_name(y2.dtype))
    kern((-(-M // bm), -(-N // bn)), (mk.THREADS,),
         (w.data, np.int64(nb * 18), np.int32(N), np.int32(nb), x16, np.int64(K), np.int32(M),
          y2, np.int64(N)))
