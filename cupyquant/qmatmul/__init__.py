"""Fused Q4_0 matrix multiplication on the GPU: ``y = x @ W.T`` with W kept quantized.

    y = cupyquant.matmul(x, w)        # x: CuPy (..., K) float16/float32, w: QuantizedTensor Q4_0 (N, K)

Paths (``path=``; ``None`` chooses by M = number of activation rows and platform):

* ``"matvec"``: small M (token generation). float32 accumulation, exact
  products. On NVIDIA (sm_80+) by default: the weights go through the tensor
  cores dequantized exactly to (q - 8) in float16, float32 activations
  scaled by a power of two a row and split into two float16 parts (to about
  2^-23 of each value, 2^-39 of the row's largest), every block
  scaled by its d in float32, in chunks of 16 (float16 x) or 8 (float32 x)
  rows, each one pass over the weights. For the rows and x dtypes of
  MATVEC_INT8_M (none by default since session 10; ``path="matvec_int8"``
  forces it): int8 tensor cores (mma m16n8k32 u8 x s8). There the weights' nibbles go in as
  they are (q and 16 q, the -8 folded into a per-block correction) and each
  activation row is first turned, per 32-value block, into 32-bit fixed point
  (an exponent and four int8 limbs, ``cq_q4_0_xprep_i8_*``). That is a
  representation, not a loss: every activation is kept to within 2^-30 (first
  16 values of a block) or 2^-26 (last 16) of its block's largest |x|, at or
  below float32's own rounding of that value; the block dot products are then
  exact integers, scaled by d and summed in float32 like a float32 reference
  summing block by block (relative error ~1e-7; see q4_0_matvec_int8.hip).
  Non-finite activations give NaN for their row there. Elsewhere a portable
  float32 kernel, chunks of 8 rows. With one column tile (float16 x up to 8
  rows, float32 x up to 4) and small enough activations (MV_X_SHARED_MAX),
  the float16 tensor-core kernel is its x_shared variant: each thread block
  first copies its K range of the activations into shared memory in the
  mma fragments' order (float32 x split into its float16 parts there, so no
  separate kernel), then stays resident and takes 16-row tiles from a queue
  (with fewer thread blocks than tiles: its "_xsq" build, which copies the
  next tile's first weight stage during this tile's last,
  MV_XS_QUEUE_KERNEL, float32 x MV_F32_QUEUE_ROWS; from 2 rows, where the
  records leave room for only 2 or 3 thread blocks an SM, its build with
  registers for that many, MV_XS_QUEUE_REG_BOUND). Where those records do
  not fit, float16 x with 2-8 rows at long K on few weight rows runs on the
  "_xr" kernel instead: 64-row thread blocks copy each stage's activations
  into a ring beside the weight stages, K split for at most one thread block an SM (MV_X_RING,
  _mv_x_ring_plan). Launched with PDL (under graph capture), a grid that
  fills every resident slot lets the next grid be scheduled once its thread
  blocks have issued their last weight copy, and asks L2 for its first
  weight stage before its wait (MV_EARLY). Where the row tiles are fewer
  than the resident thread blocks, K is split (at long K and several rows
  by a model of the grid's waves, _mv_splits_makespan); on sm_90 a split
  grid of one wave runs as thread block clusters whose splits add up in
  split 0's shared memory (MV_CLUSTER_MAX_SPLITS), otherwise the last thread
  block of a tile adds the float32 partial sums from a global workspace,
  both in split order (the same bits).
* ``"mma"``: fused matrix-matrix kernel. NVIDIA sm_80+: tensor cores
  (mma.sync m16n8k16, weights dequantized to float16 in registers from raw
  blocks staged in shared memory). AMD: MFMA (CDNA) / WMMA (RDNA3) with a
  portable FMA fallback (compile-checked, not run on AMD hardware yet).
  Activations are used as float16 (float32 input is converted), float32
  accumulation. Slower than "dequant_gemm" on an H100 (see MATVEC_MAX_M).
* ``"dequant_gemm"``: large M (prefill), portable: dequantize a slab of
  weight rows to float16 in a bounded scratch buffer (DEQUANT_SCRATCH_BYTES)
  with the format's GPU dequantization kernel and multiply with cuBLAS /
  hipBLAS, slab by slab: on CUDA the GEMM that ``cupy.matmul`` would call,
  issued directly into the slab's columns of y (no copy), else ``cupy.matmul``.
* ``"wgmma"``: large M on NVIDIA sm_90 (H100 / H200): fused matrix-matrix
  kernel on Hopper's warpgroup tensor-core instructions (q4_0_matmul_sm90.hip,
  compiled for sm_90a): the weights decoded to float16 d * (q - 8) straight
  into the instruction's registers, the activations (float16) from shared
  memory; no scratch buffer. Thread blocks of 128 weight rows x 64, 128 or
  256 activation rows, or of 64 weight rows x 256 activation rows where
  those fill one wave (WGMMA_R64; two warpgroups taking turns over K, their
  sums added at the end); where the driver can encode them, x and the weights
  come through TMA tensor maps (one copy instruction a stage from one thread,
  gpu/tensor_map.py; WGMMA_TMA) and the thread block's warps meet only at
  mbarriers, else by cp.async from every thread. Small grids split K (the
  last thread block of a tile adds the float32 partial sums in split order);
  the small last wave of a many-wave grid runs as a second launch split over
  K (WGMMA_TAIL). Needs K a multiple of 256 and 16-byte aligned weights. The
  automatic path takes it above WGMMA_FROM_M rows where its grid is large
  enough (WGMMA_MIN_BLOCKS_PER_SM), its plan splits K (K >=
  WGMMA_SPLIT_MIN_K) or takes the 64-row blocks, and the weights allow it,
  else "matvec" (up to MATVEC_MAX_M rows) or "dequant_gemm".

The package, one module a job (names with a leading underscore are internal
to it; the modules call each other's through the module, ``rt._occupancy``,
``mv_plan.MV_X_RING``, so that a test or probe that sets one of them reaches
every caller):

* ``dispatch``: ``matmul`` itself, the argument checks, ``choose_path``.
* ``matvec``: the matrix-vector launches; ``mv_plan`` chooses their kernel
  and geometry, ``mv_grid`` their K splits, clusters and occupancy cap.
* ``wgmma``: the sm_90a matrix-matrix kernels, their plan and tensor maps.
* ``mma``: the mma.sync / MFMA / WMMA and portable matrix-matrix kernels.
* ``dequant_gemm``: dequantize a slab + cuBLAS / ``cupy.matmul``.
* ``runtime``: kernel modules, occupancy, shared memory, workspaces, and the
  GPU queries and launch of cupyquant.gpu.
"""

from __future__ import annotations

from .dispatch import PATHS, MatmulFormatError, choose_path, matmul
from .wgmma import wgmma_available

__all__ = ["PATHS", "MatmulFormatError", "choose_path", "matmul", "wgmma_available"]
