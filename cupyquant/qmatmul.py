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
"""

from __future__ import annotations

import functools
import heapq
import math
import threading

import numpy as np

from . import matmul_kernels as mk
from .errors import UnsupportedFormatError
from .gpu.launch import clusters_usable, function_handle, launch, max_active_clusters, pdl_usable
from .gpu.platform import backend, cuda_sm, cupy_module, device_info

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
#: available: "dequant_gemm" (measured faster than this module's mma.sync
#: kernel on an H100) or "mma".
NVIDIA_LARGE_M_PATH = "dequant_gemm"
#: Auto path on sm_90 above WGMMA_FROM_M rows: the wgmma kernel where it can
#: run and its grid has at least WGMMA_MIN_BLOCKS_PER_SM thread blocks of 128 x
#: 128 an SM (fewer: each thread block's serial stages are the limit). H200,
#: us (notes/h200_s14 run 7), wgmma / matvec / dequant_gemm: 14336 x 4096
#: (112 blocks of 128 rows a 128-row column) float16 x M = 17 37.9 / 56.8 /
#: 73.0, M = 128 38.5 / - / 75.2, float32 x M = 17 39.6 / 84.2 / 76.5; 4096^2 (32
#: blocks) M = 128 35.8 / - / 27.0; 4096 x 14336 M = 64 119.0 / 168.0 / 77.9;
#: M = 512 (128 blocks): 4096^2 38.0 / - / 37.9, 14336 x 4096 112.1 / - /
#: 127.4, 128256 x 4096 1024 / - / 1054 (float16 x; 1.27-1.49x cuBLAS on
#: float16 weights, and no scratch buffer).
WGMMA_AUTO = True
WGMMA_MIN_BLOCKS_PER_SM = 0.75
#: ... and on smaller grids, split over K (WGMMA_SPLIT_MAX_BLOCKS_PER_SM), for
#: K of at least this. Session 14 run 9, 4096 x 14336 (32 blocks), M = 17 / 33
#: / 64 / 128, wgmma with 8 splits 38.2 / 41.4 / 47.3 / 61.3 us against matvec
#: 59.1 (M = 17) and dequant_gemm 75.1 / 75.7 / 77.3 / 78.8. With K = 4096 the
#: split sums cost more than they gained until session 17 made them parallel
#: (notes/h200_s17 run 2, 4096^2, 4 splits against the path taken before: M
#: = 17 13.3 us against matvec 18.6, M = 128 19.7 / 256 24.0 against
#: dequant_gemm 27.3 / 28.7).
WGMMA_SPLIT_MIN_K = 4096
#: ... only above this many activation rows (x dtype): one pass of the
#: matrix-vector kernel (float16 x) / its float32-accurate rows (float32 x).
WGMMA_FROM_M = {"float16": 16, "float32": 16}
#: wgmma thread blocks of 256 activation rows (one an SM) where there are at
#: least this many rounds of them on the multiprocessors, else of 128 (two an
#: SM). H200, M = 512, us, 128 / 256 rows (run 6): 4096^2 34.9 / 53.9 (0.5
#: rounds), 14336 x 4096 126.3 / 120.7 (1.7), 4096 x 14336 114.8 / 175.8,
#: 128256 x 4096 1139 / 1046.
WGMMA_WIDE_MIN_ROUNDS = 1.5
#: ... and only where 256-row blocks compute at most this many more
#: activation rows (padding of the last tile) than 128-row ones: M = 300 is
#: 512 rows of 256-row blocks and 384 of 128-row ones, whose last tile's x box
#: is also mostly zero-filled by the TMA, which is slow. H200, M = 300, 128 /
#: 256 rows (notes/h200_s18 run 3): 14336 x 4096 86.0 / 129.7 us, 128256 x
#: 4096 738.6 / 875.1.
WGMMA_WIDE_MAX_EXTRA_ROWS = 0
#: ... and only above this many activation rows: a narrower block covers them
#: with less wasted tensor work. H200, 128256 x 4096, float16 x, us, 256 rows
#: -> 64 / 128 (notes/h200_s16 run 3): M = 17 351 -> 176, M = 64 389 -> 193,
#: M = 100 398 -> 241.
WGMMA_WIDE_MIN_M = 128
#: Split-K of the wgmma kernel where its grid (one split) has at most
#: WGMMA_SPLIT_MAX_BLOCKS_PER_SM thread blocks an SM (..._N64 for 64-row
#: blocks): into as many K ranges as fit WGMMA_SPLIT_BLOCKS_PER_SM thread
#: blocks an SM (two are resident), each at least WGMMA_MIN_STAGES_PER_SPLIT
#: stages of 64 (whole groups of 4); any of these 0: never. The last thread
#: block of a tile adds the partial sums (notes/h200_s17 run 2, new sum against
#: the one-element-a-thread sum of sessions 14-16: 4096 x 14336 M = 64 / 128 /
#: 256 36.2 / 56.3 / 101.2 -> 28.0 / 38.7 / 69.6 us). Run 2 also: 128-row
#: blocks on grids of 96-128 blocks gained nothing from a split (4096^2 M =
#: 512 32.5 -> 34.8 us, 2 splits), 64-row ones on 112 did (14336 x 4096 M =
#: 17 / 64 28.7 / 29.2 -> 26.2 / 27.8 with 2, 30.8 / 33.1 with 3).
WGMMA_SPLIT_MAX_BLOCKS_PER_SM = 0.5
WGMMA_SPLIT_MAX_BLOCKS_PER_SM_N64 = 0.9
WGMMA_SPLIT_BLOCKS_PER_SM = 2.0
WGMMA_MIN_STAGES_PER_SPLIT = 16
#: Above WGMMA_WIDE_MIN_M rows, where 128-row blocks would be more than
#: WGMMA_SPLIT_MAX_BLOCKS_PER_SM but at most one an SM and K is at least
#: this: 256-row blocks (half the weights' decode a product) split over K
#: into at most one thread block an SM. Run 2, 4096 x 14336: M = 512 102.9 /
#: 114.3 -> 95.9 / 99.5 us (2 splits), M = 384 99.3 -> 82.3; not on 4096^2 (M
#: = 512 32.5 -> 34.1-34.4, M = 256 24.0 -> 30.8), nor at M = 1000 (256
#: blocks of 128 rows: 186.0 -> 195.1).
WGMMA_WIDE_SPLIT_MIN_K = 8192
#: Thread blocks of 64 weight rows x 256 activation rows (one an SM;
#: _wgmma_choice) above WGMMA_WIDE_MIN_M rows where they, or they split in two
#: over K, make one wave of at least this many an SM, for K from
#: WGMMA_SPLIT_MIN_K to WGMMA_R64_MAX_K: the products per weight decoded of 128
#: x 256 blocks where those would leave half the SMs idle (4096 weight rows, M
#: = 129-512). H200, 4096^2, float16 x, us, 128-row plan / 64-row blocks with
#: two warpgroups (notes/h200_s18 run 3): M = 512 33.0-33.2 / 29.6-29.8 (1.28 /
#: 1.15x cuBLAS), M = 384 31.9 / 29.5, M = 300 31.8 / 29.4, M = 256 (2 splits)
#: 24.8 / 22.6; float32 x M = 512 35.9 / 33.2. M = 512 on 4096 x 6144 (run 5):
#: 46.5 / 42.3. Not from K = 8192, where 256-row blocks split K in two: 4096 x
#: 8192 55.9-56.3 / 57.9-58.8 (run 5), 4096 x 14336 88.5 / 115.5 (run 3). Under
#: ncu, one launch, 4096^2 took the same cycles both ways (58.7 K at 1.32 GHz,
#: caches flushed, run 5; 61.3 K at 1.74 GHz, caches warm, run 8): the gain
#: shows only back to back in the benchmark's graphs, why is not settled.
#: WGMMA_R64 False: never.
WGMMA_R64 = True
WGMMA_R64_MIN_BLOCKS_PER_SM = 0.75
WGMMA_R64_MAX_K = 6144
#: Warpgroups of those blocks: 2 taking turns over K (even / odd stages; needs
#: the TMA tensor maps), or 1 (as the cp.async fallback: M = 512 on 4096^2
#: 30.8-31.1 us against 29.6-29.8 with 2, run 3).
WGMMA_R64_WARPGROUPS = 2
#: Unsplit wgmma grids of several waves whose last wave fills at most half
#: the resident slots: that wave's weight rows in a second launch, split over
#: K to fill them (_wgmma_tail). 128256 x 4096 at M = 512: 2004 blocks of 256
#: rows, 15 waves of 132 and 24 blocks; the 24 as 4 splits each.
WGMMA_TAIL = True
#: Thread blocks of 64 activation rows (half the wasted tensor work of 128
#: when M is small) up to this many rows. Run 2 (H200, x through TMA), 14336 x
#: 4096, M = 17 / 64: 128 rows 51.6 / 40.0 us, 64 rows 33.0 / 33.4; at M = 512
#: 64 rows were slower (4096^2 34.1 -> 48.7 us).
WGMMA_NARROW_MAX_M = 64
#: The wgmma kernel copies x and the weights through TMA tensor maps (one
#: instruction a stage; cupyquant/gpu/tensor_map.py) where the driver can
#: encode them, else with cp.async by every thread.
WGMMA_TMA = True
#: L2 promotion (bytes: 0, 64, 128 or 256) of the weights' tensor map.
WGMMA_W_L2_PROMOTION = 256
#: Largest float16 scratch buffer of the "dequant_gemm" path (bytes).
DEQUANT_SCRATCH_BYTES = 256 << 20
#: Tensor-core matrix-vector: geometry (rows per thread block, blocks per row
#: and stage, stages) for every launch, or None to choose (see _mv_plan):
#: x_shared kernels (16, 64, 2), or (16, 32, 3) for float32 records over 32
#: KiB; otherwise float16 x with one column tile (16, 64, 2) where its
#: (tile, split) thread blocks are at most MV_FEW_WAVES rounds of the resident
#: ones, else (16, 32, 3); float16 x with two column tiles (16, 64, 3), and
#: float32 x (16, 64, 2). x is read from global memory there, and a smaller
#: stage ring leaves the L1 cache more room: float16 x, M = 8, on the four
#: benchmark shapes 9.56 / 21.68 / 26.01 / 135.27 us with (16, 32, 3) against
#: 9.13 / 24.51 / 26.62 / 171.93 with (16, 64, 3) (notes/h200_s10). (16, 64,
#: 2) against (16, 32, 3), same run (notes/h200_s13 runs 2 and 3): 9.15 / 21.99
#: / 23.19 / 137.75 against 9.82 / 24.04 / 24.05 / 133.55 (0.3 / 1.4 / 0.8 /
#: 12 rounds), and 18.13 against 19.06 for M = 2 on 4096 x 14336. Deeper rings
#: ((16, 64, 3-5), (16, 32, 4-6)) were slower on every shape at M = 1, 2 and 8.
#: K is split so that the thread blocks fill about MV_BLOCKS_PER_SM x (thread
#: blocks resident on a multiprocessor) x multiprocessors.
MV_GEOMETRY = None
#: Rounds of resident thread blocks up to which float16 x with one column
#: tile and x from global memory takes (16, 64, 2) (see MV_GEOMETRY).
MV_FEW_WAVES = 2
#: Tensor-core matrix-vector with one column tile (float16 x up to 8 rows,
#: float32 x up to 4): the x_shared kernels, which copy their K range of the
#: activations into shared memory in the order of the mma fragments (float32
#: x split there into its float16 parts, no separate kernel) and stay
#: resident, taking tiles from a queue, when those records take at most this
#: many bytes (x dtype -> bytes; 0: never). H200, M = 1, us (run 2): float16
#: 4096^2 7.83 -> 6.56, 14336x4096 17.04 -> 14.20, 4096x14336 20.96 -> 14.72;
#: float32 x 8.89 -> 7.17, 19.65 -> 16.11, 21.27 -> 17.90 (86 KiB, (16, 32,
#: 3)). M = 8 float16 (64 KiB) was slower (24.5 -> 30.6): hence 32 KiB there.
#: float32 x, since session 32 two float16 parts (4 bytes a value, 6 with
#: the three bfloat16 parts before): 60 KiB keeps x_shared for one row up
#: to K = 15360 (4096 x 14336 M = 1, 57 KiB: 19.2-19.3 us against 23.5-23.8
#: without) and for 2 rows at K = 4096 (32 KiB; 4096^2 7.1 against 9.2,
#: 14336 x 4096 15.6 against 19.5), not for 4 rows at K = 4096 (64 KiB,
#: 11.8 against 9.7-9.8): notes/h200_s32 run 5 ("occ" cells take other
#: plans there).
MV_X_SHARED_MAX = {"float16": 32 << 10, "float32": 60 << 10}
#: ... and above this many bytes only when the grid is one wave of thread blocks.
MV_X_SHARED_ANY = 32 << 10
#: ... and also records up to these many bytes (x dtype -> bytes) where the
#: tiles outnumber the resident thread blocks, each of which would otherwise
#: read its rows of x from L2 (float16 x, M = 8, 64 KiB records on the H200,
#: notes/h200_s13 run 7: 128256 x 4096 133.1 -> 118.2 us, 14336 x 4096
#: 22.2-23.0 -> 20.7-20.9; 4096 x 4096, one wave, 9.22 -> 9.82, so not there;
#: M = 4 and 6 within 1%).
MV_X_SHARED_MANY_TILES = {"float16": 64 << 10, "float32": 64 << 10}
#: x dtypes whose x_shared grids with a queue (fewer thread blocks than
#: tiles) take the "_xsq" kernel (mk.MV_QUEUE_GEOMETRY), whose thread blocks
#: copy their next tile's first stage during this tile's last. H200, float16
#: x, us, _xsq / _xs (notes/h200_s19 run 5: one module, three rounds, both
#: orders): 14336 x 4096 M = 1 / 4 / 8 13.6-13.8 / 15.1-15.3 / 18.6 against
#: 14.4-14.7 / 16.9-17.3 / 19.9-20.0; 128256 x 4096 M = 1 86.7-86.9 against
#: 86.2-86.6, M = 4 96.7-102.6 against 97.3-98.0, M = 8 114.8-118.5 against
#: 117.7-120.6. Other shapes (run 6), M = 1: 2-6% faster at K = 2048 /
#: 4096 / 14336 (e.g. 32000 x 2048 15.9 against 16.9), equal on 28672 x 4096
#: and 53248 x 8192; M = 8: 4-9% faster, 2% slower on 28672 x 4096. With the
#: same code enabled for float32 x it was slower (run 2: 128256 x 4096 M = 1
#: 104.8 against 100.4 us; 14336 x 4096 15.6 against 15.4), so float16 only.
#: (Those kernels copied with all eight warps; since session 20 every
#: x_shared kernel copies with four, CQ_MV_XS_COPY_WARPS in q4_0_matmul.hip.)
MV_XS_QUEUE_KERNEL = ("float16", "float32")
#: ... float32 x only from the first to the second of these rows (one column
#: tile: at most 4). A float32 value is two float16 parts since session 32,
#: so float32 M rows have the records and B columns of float16 2 M; session
#: 19's loss (above) was with three bfloat16 parts. Records up to
#: MV_X_SHARED_MANY_TILES["float32"] then where the tiles outnumber the
#: resident thread blocks (M = 3-4 at K = 4096: 48-64 KiB, which without the
#: queue run on (16, 32, 3) or read x's parts from global memory).
#: H200, us, queue against the float16-only plan, two rounds in alternating
#: order (notes/h200_s39/run1/probe_f32q2.txt): M = 3 / 4 10-17% faster
#: (14336 x 4096 17.3-17.5 / 18.5-18.7 against 19.7 / 20.7; 128256 x 4096
#: 107.5-107.8 / 108.1-109.5 against 110.1-110.6 / 124.3-125.5; 11008 x
#: 4096 14.7-14.8 / 15.9 against 17.8 / 18.6-18.7); M = 2 within 3% either
#: way (15.3-15.6 against 15.7-15.9; 94.1-94.3 against 94.6-95.6; 13.9-14.0
#: against 13.6), kept for the two larger shapes; M = 1 2-11% slower (15.3
#: against 14.9-15.1; 89.5-90.0 against 85.9-87.5; 13.5-14.2 against
#: 12.6-12.8), so from 2 rows. (One row at long K on many tiles, records
#: over MV_X_SHARED_ANY, so reads x from global memory as before session 39;
#: the queue there is not measured yet: notes/probe_s39.py f32m1q.)
MV_F32_QUEUE_ROWS = (2, 4)
#: ... and one float32 row also where its records over the whole K exceed
#: MV_X_SHARED_ANY (K over 8192; up to MV_X_SHARED_MANY_TILES) and the tiles
#: are at least this many rounds of the queue kernel's resident thread blocks
#: (0: never). Without the queue such a grid reads x from global memory
#: (records over MV_X_SHARED_ANY only on one-wave grids). H200, us, queue
#: against that, two rounds in alternating order (notes/h200_s40/run1,
#: probe_s39 f32m1q; the queue's 264 thread blocks): 5120 x 13824 (320
#: tiles, 1.21 rounds) 27.9-28.0 against 26.5-26.8; 6144 x 16384 (1.45)
#: 28.8-29.0 against 32.2-32.7; 8192 x 14336 (1.94) 26.5-26.7 against
#: 34.2-35.0; 14336 x 14336 (3.39) 41.8-42.1 against 58.1-59.4.
MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS = 1.33
#: One float16 activation row on the x_shared kernels takes their "1"
#: variant ("_xs1", "_xsq1"), which keeps only the accumulators of the one B
#: column used (two float32 fma a Q4_0 block fewer, M a constant) and reads
#: even blocks' quants in an aligned k order (one shared load a row fewer:
#: the word with d also holds the first quants). Same output bits as the
#: generic kernels in every case checked. H200, us, one module, four rounds
#: in alternating order (notes/h200_s23 run 2): 128256 x 4096 81.3-81.5
#: against 84.2-84.6; 14336 x 4096 12.9-13.0 against 13.2-13.5; 4096^2
#: 6.42-6.50 against 6.60-6.63; 4096 x 14336 14.37-14.47 against
#: 14.59-14.65; 32000 x 2048 14.8-15.0 against 15.3-15.5; 14336^2 equal
#: (37.3-37.5), 28672 x 4096 mixed (22.6-23.6 against 23.1-23.3). Without
#: the aligned order the queue kernels were 7-15% slower than the generic
#: ones (run 1).
MV_ONE_ROW_KERNEL = True
#: The queue kernels' "c" builds copy x into their records with cp.async
#: (cq_mv_fill_x's CP and XSC in q4_0_matmul.hip). From this many float16 rows
#: "_xsqc", which copies the whole split at once and then makes the records in
#: shared memory (H200, 14336 x 4096 M = 8 21.1 -> 19.1 us, notes/h200_s33
#: runs 6-7; with fewer rows slower, run 6); above 8 (the most float16 rows
#: an x_shared kernel takes): never.
MV_XS_COPY_FILL_FROM_M = 8
#: Two x_shared kernels of (16, 64, 2) take their build with registers for as
#: many thread blocks an SM as their shared memory allows, where they have one
#: for that count (mk.mv_reg_bounds: "_xsqb2", "_xsqcb3", float32 "_xsb3",
#: ...) and the grid fills them, not the 48 registers of CQ_MV_MIN_BLOCKS = 5
#: (spills, less freedom for the scheduler, no occupancy gained);
#: _mv_reg_bound. This knob: the float16 queue kernels of several rows. H200,
#: us, two rounds, notes/h200_s35 run 4 (bits equal in every case): 128256 x
#: 4096 M = 8 / 6 / 4 106.4-106.6 / 105.4-105.8 / 93.8-93.9 against
#: 117.4-117.5 / 116.1-116.9 / 98.6-101.1; 14336 x 4096 M = 8 / 6 / 4
#: 18.5-18.6 / 16.1-16.2 / 15.1-15.2 against 19.6 / 19.4 / 15.4-15.5; 32000 x
#: 2048 M = 8 (3 an SM) 18.8 against 19.7-19.8. Forced where 4 or 5 fit, the
#: bound of 2 lost 14-36% (11008 x 4096 M = 2 14.0 against 11.5-12.4), a bound
#: of 4 was mixed: not compiled.
MV_XS_QUEUE_REG_BOUND = True
#: ... and this one the float32 kernel without a queue ("_xs"): M = 2 at K
#: = 4096 (32 KiB of records, 3 an SM). H200, us, two rounds in both orders
#: (notes/h200_s36 run 1): 14336 x 4096 15.67-15.91 against 16.09-16.14,
#: 128256 x 4096 94.6-95.3 against 95.7-97.2; run 2 (the submitted code):
#: 14336 x 4096 15.78 against 16.13-16.15, 11008 x 4096 13.60-13.62 against
#: 13.71-13.72, 18944 x 3584 20.33-20.36 against 20.77-20.84, 128256 x 4096
#: 95.2-95.4 against 96.3-96.9. Where the grid has fewer an
#: SM than the records allow, the bounded builds lost (4096 x 4096: 256
#: thread blocks, 2 an SM, float32 x M = 1 / 2 7.1-7.2 / 8.4 against 6.0 /
#: 7.2; the float16 "_xs" / "_xs1", not compiled since: 18-29% but one).
MV_XS_UNQUEUED_REG_BOUND = True
#: ... and one row takes "_xsq1c", which copies each stage's x beside its
#: weights, where the tiles are more than lo and at most hi times its thread
#: blocks, (lo, hi) this band. H200, us, "_xsq1c" / "_xsq1", three rounds in
#: alternating order (notes/h200_s34 run 2; 660 thread blocks, K = 4096 unless
#: said): 11008 rows (1.04 tiles a thread block) 10.8-11.2 / 10.4-11.2;
#: 12288 (1.16) 11.8-12.3 / 12.1-12.3; 13312 (1.26) 12.6-12.8 / 12.5-12.8;
#: 14336 (1.36) 12.8-13.1 / 13.9-14.3; 15360 (1.45) 13.6-13.7 / 14.6-14.7;
#: 16384 (1.55) 14.4-14.7 / 14.9-15.0; 18944 x 3584 (1.79) 19.4 / 18.3-18.6;
#: run 1: 28672 (2.7) 22.3-22.4 / 22.0-22.1, 32000 (3.0) 24.2-24.3 /
#: 23.6, 128256 (12) 84.2-84.3 / 82.2-83.3. Without the copies the time
#: jumps by 1.1-1.3 us from 13312 to 14336 rows, with them it grows with the
#: bytes; elsewhere their 24 bytes of spill, paid on every tile, lose.
MV_ONE_ROW_COPY_FILL_BAND = (1.3, 1.6)
MV_BLOCKS_PER_SM = 0.5  # H100: no K split for 4096 rows was faster than one (4096 x 4096: 8.7 vs 10.6 us)
#: ... and for 2 or more activation rows with K of at least MV_LONG_K (H200,
#: 4096 x 14336, float16 x, M = 2 / 4 / 8: 22.1 / 23.3 / 25.5 us at 0.5,
#: 19.4 / 20.6 / 23.7 at 1.0, notes/h200_s11/run8; M = 1 and K = 4096 were
#: no faster or slower there; confirmed in notes/h200_s12 run 1). 1.5 against
#: 1.0 (notes/h200_s17 run 2, same process): M = 4 / 6 / 8 19.47 / 21.02 /
#: 22.87 against 20.15-20.30 / 21.52-21.65 / 23.31-23.74 us; 2.0 slower.
#: None (the default) takes the split count of least modelled time instead
#: (_mv_splits_makespan); from session 17 to 20 this was 1.5. H200, float16
#: x, us, M = 4 / 8 (notes/h200_s21 run 3, every split count forced): 4096 x
#: 11008 1.5 -> 3 splits 22.4 / 24.9, the model's 2 splits 17.2 / 19.7 (one
#: wave, clusters); 5120 x 13824 24.7 / 28.2 against 23.8 / 27.4; 2048 x 8192
#: (4 against 2 splits) 9.3 / 10.5 against 8.5 / 9.3; 4096 x 14336 (3 splits)
#: and 8192 x 28672 (1) the same plan either way. No other count was faster
#: on those shapes than the model's.
MV_BLOCKS_PER_SM_LONG_K = None
MV_LONG_K = 8192
#: float16 x, 2-8 rows, K of at least MV_LONG_K, where the plan above would
#: read x from L1 / L2 in every thread block (its records do not fit
#: x_shared) and the weights have at most one 64-row tile an SM: the "_xr"
#: kernel (mk.MV_X_RING_GEOMETRY), which copies each stage's x with its
#: weights into shared memory, one copy for 64 rows, with K split so that
#: there is at most one thread block an SM (_mv_x_ring_plan). ncu (H200,
#: 4096 x 14336, M = 8, notes/h200_s25 run 2) had put 9.7 of the 23.6 stall
#: cycles an instruction of the plan's kernel on its x loads (L1 hit rate
#: 26%). H200, us, float16 x (run 4, forced plans against the plan, two
#: rounds): 4096 x 14336 M = 8 19.30-19.31 (two splits in clusters) against
#: 22.35-22.54, M = 4 17.62 against 19.15-19.56; 4096 x 11008 M = 8 19.57
#: against 19.55-19.72. Other counts there: 1 split 30.6, 3 21.7, 4 20.3 (2
#: thread blocks an SM), 6 23.2; 32-row thread blocks at best 20.7. The
#: shipped plan on / off (run 5, two rounds): 4096 x 14336 M = 2 / 3 / 4 / 6
#: / 8 16.4-17.0 / 17.2 / 17.9 / 18.7 / 19.8 against 18.3-18.5 / 18.9-19.0 /
#: 19.2-19.4 / 20.6 / 22.6-22.7; 4096 x 8192 M = 8 13.1-13.2 against 14.0;
#: 8192 x 8192 23.1 against 23.5-23.7; 8192 x 28672 63.3 against 71.3;
#: 4096 x 11008 M = 8 19.5-19.7 against 19.6-19.7, M = 4 17.9-18.0 against
#: 17.1 (slower). Shapes the rule leaves to the plan above: see
#: _mv_x_ring_plan and the two knobs below (since session 26 these include
#: 4096 x 11008 and 4096 x 8192, whose M = 8 loses 5% by it).
MV_X_RING = True
#: Fewest stages a K split of the "_xr" plan may have. Its thread block, one
#: an SM, runs its stages one after the other, so its time grows with them
#: (H200, M = 4, us: 4 stages 12.5-12.7, 7 17.9, 14 30.3-30.9; about 5.4 +
#: 1.8 a stage), while the other plan's many thread blocks an SM start with
#: more bytes in flight. Measured (notes/h200_s26 run 1, float16 x, "_xr"
#: against MV_X_RING off, M = 2 / 4 / 6 / 8, us): 6 stages (4096 x 11008)
#: 16.6 / 17.7 / 18.7 / 19.3 against 16.0 / 16.9 / 17.8 / 19.4; 4 stages
#: (4096 x 8192 M = 4 / 6 / 8) 12.5 / 12.8 / 13.2 against 12.3 / 12.8 /
#: 13.9, (2560 x 10240, 3 splits) 12.7 / 13.3 / 13.6 against 11.6 / 12.2 /
#: 13.3; 7 stages or more always faster or within 2%: 4096 x 28672 (14)
#: 29.5 / 30.3 / 32.3 / 32.8 against 30.6 / 33.8 / 35.6 / 38.8, 8192 x
#: 14336 (14) M = 4 / 6 / 8 30.9 / 33.5 / 34.1 against 33.0 / 35.3 / 38.2,
#: 3072 x 14336 (2 splits of 7, forced) 16.0 / 16.9 / 17.6 / 18.1 against
#: 16.7 / 17.6 / 18.6 / 20.8, 6144 x 16384 (16) M = 4 / 6 / 8 32.9 / 34.3 /
#: 35.7 against 32.3 / 34.1 / 37.2 (run 1; 4 until then). Of those, the
#: grids of 3 or more splits summed in clusters, which run 4 then found slow
#: for "_xr" (MV_X_RING_CLUSTER_MAX_SPLITS). With the global sum, 4 splits
#: of 4 stages were faster than the other plan: MV_X_RING_MIN_WORK.
#: The limit applies to grids of at most MV_X_RING_CLUSTER_MAX_SPLITS splits.
MV_X_RING_MIN_STAGES = 7
#: From this many activation rows on, a grid of 2 .. MV_X_RING_CLUSTER_MAX_SPLITS
#: splits (summed in clusters) of at least 2 stages each takes "_xr" below
#: MV_X_RING_MIN_STAGES and below MV_LONG_K too: its 64-row tiles read each
#: activation row once per 64 weight rows, where the 16-row tiles' kernels
#: read it four times. H200, float16 x, us, "_xr" against the shipped plan
#: (notes/h200_s31 run 7, three rounds): 4096 x 4096 (2 splits of 2 stages)
#: M = 8 7.32-7.35 against 8.34-8.37, but M = 4 6.61-6.62 against 6.56-6.57
#: and M = 2 6.28 against 5.66-5.69; 4096 x 8192 (2 of 4) M = 8 13.2 against
#: 13.9 (session 26 run 1, above). With the rule on / off in one process
#: (notes/h200_s32 run 1, both orders): 4096 x 4096 7.32-7.35 / 8.21-8.29,
#: 3072 x 4096 6.60 / 8.51-8.52, 4096 x 8192 11.53-11.54 / 12.72-12.82,
#: 4096 x 11008 17.59 / 18.05-18.09. Grids of more splits at that K were
#: slower at every M (2048 x 4096, 4 splits of 1: 7.24-7.42 against
#: 4.93-4.95 at M = 8), and single-split grids were not measured.
MV_X_RING_SHORT_SPLITS_FROM_M = 8
#: Least fraction of the multiprocessors the "_xr" grid must occupy (one
#: thread block an SM: the others stay idle). 0.73 measured (3072 x 14336
#: and 6144 x 16384 above); below this the plan above takes the shape.
MV_X_RING_MIN_FILL = 0.7
#: Grids of more K splits than MV_X_RING_CLUSTER_MAX_SPLITS (split sums
#: through the global workspace) have no stage limit. Instead their thread
#: blocks must use at least this fraction of the SM-stage slots the grid holds
#: the SMs for: 64-row tiles x stages / (SMs x stages a split), where a
#: short last split or idle SMs leave slots empty. H200, float16 x, "_xr"
#: against MV_X_RING off, M = 4 / 8, us (notes/h200_s27 run 1, two rounds,
#: both orders; that fraction in brackets): 1024 x 32768 (8 splits of 4,
#: 0.97) 12.4 / 14.0-14.1 against 14.9 / 17.8-17.9; 1024 x 16384 (8 of 2,
#: 0.97) 8.3 / 9.3-9.4 against 9.1 / 10.4; 1024 x 8192 (8 of 1, 0.97) 6.3
#: / 7.1 against 7.2-7.3 / 7.9; 2048 x 16384 (4 of 4, 0.97) 12.4 / 13.8
#: against 13.6 / 15.6; 1536 x 8960 (5 of 2, 0.82) 8.8-8.9 / 10.0
#: against 9.1-9.2 / 10.5-10.6; 2048 x 11008 (4 of 3, 0.89) 11.3-11.4 /
#: 12.4 against 11.2 / 12.9; 2048 x 8192 (4 of 2, 0.97) 8.4 / 9.2-9.3
#: against 8.3 / 9.1 (1% slower); left to the other plan: 2560 x 10240 (3
#: of 4, 0.76) 12.3 / 13.6-13.8 against 11.5-11.6 / 13.1-13.2, 1536 x 16384
#: (4 of 4, 0.73) 11.5-11.6 / 12.6-12.7 against 11.3 / 13.0. This rule
#: against off (run 2, same way), shapes run 1 did not time: 512 x 16384
#: (16 of 1) 6.3 / 7.1 against 7.3 / 8.2; 2048 x 14336 (4 of 4) 12.1-12.3 /
#: 13.3-13.6 against 13.2-13.3 / 15.1; 2304 x 9216 (3 of 3) 10.1-10.3 /
#: 11.4 against 11.1 / 12.7-12.8; and 2048 x 8192 again 2% slower.
MV_X_RING_MIN_WORK = 0.8
#: Most K splits of an "_xr" grid that sum in thread block clusters; more
#: sum through the global workspace. Clusters of 4 and 8 were 30-40% slower
#: there, clusters of 2 faster (suspected, not profiled: clusters are placed
#: within a GPC, which may put two of a grid's thread blocks on one SM where
#: the ring's shared memory leaves room for two, while the plan counts on one
#: an SM). H200, float16 x, M = 2 / 4 / 8, us, clusters
#: against the global sum (notes/h200_s26 run 4): 2048 x 28672 (4 splits)
#: 24.9 / 26.5 / - against 17.8 / 18.4 / 19.9 (M = 8: no clusters, the sums'
#: bytes leave one thread block an SM); 2048 x 16384 (4) 16.1 / 16.9
#: against 12.1 / 12.5; 1024 x 32768 (8) 15.9 / 16.8 against 12.1 / 12.5;
#: 4096 x 14336 (2) 17.0 / 17.7 / 19.7 against 17.8 / 18.8 / 21.0.
MV_X_RING_CLUSTER_MAX_SPLITS = 2
#: The model's cost of one more split, in stage times (the split-K sum, each
#: thread block's start and end). Run 3's fastest split count of each shape
#: above (M = 8, 660 resident slots) is the model's choice for 0.7-0.95; at
#: 0.65 and less 8192 x 28672 would split in four (68 against 62 us at M = 4),
#: at 1.0 and more 4096 x 14336 in two. Charged for each split after the
#: first where the grid's splits are summed in thread block clusters (see
#: MV_CLUSTER_MAX_SPLITS) ...
MV_SPLIT_COST = 0.8
#: ... where they are summed through the global workspace on a GPU with
#: clusters (grids of more than one wave: with 0.55 or less 4096 x 11008
#: would split in three, a second wave, 22-23 against 17-18 us at M = 4,
#: notes/h200_s21 run 3) ...
MV_SPLIT_COST_GLOBAL = 0.8
#: ... and on GPUs without clusters (sm_80-89), where every split grid sums
#: through the workspace. Fitted on the H200 with clusters turned off
#: (MV_CLUSTER_MAX_SPLITS = 0; notes/h200_s22 run 2, every count 1-6 forced
#: on 7 shapes x M = 4 / 8): the model's picks lose 0.31 us in all against
#: the fastest counts with 0.3-0.4, 1.23 us with 0.5-0.9 (2048 x 8192 M = 8:
#: 2 splits 11.27 against 4 splits 10.35 us), 7.85 us with 1.0. No GPU
#: without clusters has run it.
MV_SPLIT_COST_NO_CLUSTERS = 0.4
#: Split-K grids of the tensor-core matrix-vector kernel with one thread
#: block a tile (no queue), at most this many splits, and fewer thread blocks
#: than resident slots are launched as thread block clusters (sm_90+), one
#: cluster a tile: the other splits store their partial sums into split 0's
#: shared memory (distributed shared memory) and leave, and split 0 adds them
#: up, instead of a global workspace, a fence and a counter (0: never;
#: portable cluster sizes go up to 8). H200, float16 x, us, clusters against
#: the global sum, the same splits, bit-identical (notes/h200_s21 run 5):
#: 1024 x 4096 M = 1 / 4 / 8 4.34-4.40 / 4.57-4.65 / 5.69-5.77 against
#: 5.19 / 5.69-5.72 / 7.10-7.12; 2048 x 8192 7.14-7.18 / 8.27-8.29 /
#: 9.16-9.18 against 8.11-8.13 / 10.40-10.42 / 11.82-11.84; 4096 x 11008 M
#: = 4 / 8 16.90-16.98 / 19.41-19.47 against 18.67-18.76 / 21.02-21.03.
#: Grids of more than one wave were slower as clusters, also with the other
#: splits leaving at once: 4096 x 14336 M = 4 / 8 (3 splits, 768 blocks on
#: 660 slots) 25.7 / 30.1 against 19.7-19.8 / 22.8-22.9; float32 x M = 4 / 8
#: (2 splits of the 3-blocks-an-SM kernels) 34.3-34.6 / 44.2-44.3 against
#: 29.9-30.2 / 38.3-38.4 (a cluster's thread blocks are placed together,
#: within one GPC).
MV_CLUSTER_MAX_SPLITS = 8

#: "matvec" on NVIDIA sm_80+ uses the int8 tensor-core kernel for these
#: activation rows (x dtype -> (min M, max M); at most 8 rows a launch,
#: mk.MVI8_MAX_M), the float16 tensor-core kernel otherwise. On the H200
#: (notes/h200_s9/bench_matmul_ab.txt) the int8 kernel was slower at M = 1 for
#: both x dtypes (e.g. 25.0 against 17.3 us, 14336 x 4096) and at M = 8 with
#: float16 x (34.4 against 25.4 us), faster at M = 8 with float32 x (34.6
#: against 43.4 us; 1.06-1.25x on the four benchmark shapes). Since the float16
#: kernel's staging and geometry changes (session 10 final run,
#: notes/h200_s10/final/bench_matmul.txt) that is over: float32 x, M = 4, the
#: float16 kernel was faster on all four shapes (10.67 / 23.72 / 27.46 / 141.61
#: against 12.84 / 27.93 / 28.84 / 146.94 us), M = 8 on two (13.22 / 227.61
#: against 15.54 / 262.66) and 4% slower on the other two (35.97 / 37.32
#: against 34.69 / 35.83). So no rows by default; path="matvec_int8" forces it.
MATVEC_INT8_M: dict = {}
#: Int8 matrix-vector: geometry (Q4_0 blocks per row and stage, stages) or None
#: for the compiled default mk.MVI8_GEOMETRIES[0]. Each warp streams one 16-row
#: tile; K is split so that the (tile, split) warps fill about MVI8_FILL x
#: (warps resident on a multiprocessor) x multiprocessors (not tuned yet).
MVI8_GEOMETRY = None
MVI8_FILL = 1.0

_CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
_CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES = 1


class MatmulFormatError(UnsupportedFormatError, TypeError):
    """The weight is not in a format that the fused matmul supports (Q4_0)."""


# ---------------------------------------------------------------- validation
_RESULT_DTYPES = ("float32", "float16", "bfloat16")
_dtype_names: dict = {}


def _dtype_name(dt) -> str:
    """``numpy.dtype(dt).name``, remembered: NumPy computes the name in Python
    (several microseconds), and every matmul call asks for it."""
    name = _dtype_names.get(dt)
    if name is None:
        name = _dtype_names[dt] = np.dtype(dt).name
    return name


def _check_weight(w) -> tuple[int, int]:
    """The weight's checks, on the GPU and on the host. Returns (N, K)."""
    from .quantized import QuantizedTensor

    if not isinstance(w, QuantizedTensor):
        raise TypeError(f"matmul: w must be a cupyquant.QuantizedTensor, got {type(w).__name__}")
    if w.format.name != "Q4_0":
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
    cp = cupy_module()
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
    if _dtype_name(res_dtype) not in _RESULT_DTYPES:
        raise TypeError(f"matmul: result dtype must be float32, float16 or bfloat16, got {res_dtype}")
    if out is not None:
        if not isinstance(out, cp.ndarray):
            raise TypeError(f"matmul: out must be a CuPy array, got {type(out).__name__}")
        if dtype is not None and out.dtype != res_dtype:
            raise TypeError(f"matmul: dtype={res_dtype} disagrees with out.dtype={out.dtype}")
        if _dtype_name(out.dtype) not in _RESULT_DTYPES:
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
    return cuda_sm(dev_id) >= 80


def _int8_matvec_for(M: int, x_dtype) -> bool:
    lo, hi = MATVEC_INT8_M.get(_dtype_name(x_dtype), (1, 0))
    return lo <= M <= min(hi, mk.MVI8_MAX_M)


def choose_path(M: int, x_dtype, dev_id: int = 0, N: int | None = None, K: int | None = None) -> str:
    """The path ``path=None`` takes for M activation rows of ``x_dtype``, N
    weight rows and K (None: many). Where the weights do not allow "wgmma",
    matmul takes :func:`_path_without_wgmma` instead."""
    name = _dtype_name(x_dtype)
    if _tensor_cores(dev_id):
        if M > WGMMA_FROM_M.get(name, 16) and WGMMA_AUTO and wgmma_available(dev_id):
            sms = device_info(dev_id).get("sm_count", 1)
            blocks = _wgmma_blocks(M, N, 128) if N is not None else None
            if blocks is None or blocks >= WGMMA_MIN_BLOCKS_PER_SM * sms:
                return "wgmma"
            if K is not None:
                rows, _, splits, _ = _wgmma_choice(M, N, K, sms)
                if rows != mk.WGMMA_ROWS or (K >= WGMMA_SPLIT_MIN_K and splits > 1):
                    return "wgmma"  # 64-row blocks filling a wave, or split over K
    return _path_without_wgmma(M, name, dev_id)


def _path_without_wgmma(M: int, x_dtype_name: str, dev_id: int) -> str:
    if _tensor_cores(dev_id):
        return "matvec" if M <= MATVEC_MAX_M.get(x_dtype_name, 8) else NVIDIA_LARGE_M_PATH
    return "matvec" if M <= MATVEC_MAX_M_PORTABLE else "dequant_gemm"


#: Why the wgmma kernels are not available on a device (diagnostics), if so.
wgmma_error: dict = {}
#: Why the TMA tensor maps (x and the weights) could not be made on a device
#: (the cp.async kernel ran instead).
tma_error: dict = {}


@functools.lru_cache(maxsize=None)
def wgmma_available(dev_id: int) -> bool:
    """Whether the wgmma kernels run on device ``dev_id``: an NVIDIA sm_90 GPU
    (sm_90a code runs on compute capability 9.0 only) where the module
    compiled with wgmma, as its probe kernel reports."""
    if cuda_sm(dev_id) != 90:
        wgmma_error[dev_id] = "not an NVIDIA sm_90 GPU"
        return False
    cp = cupy_module()
    try:
        with cp.cuda.Device(dev_id):
            flag = cp.zeros(1, dtype=cp.int32)
            _sm90_function(mk.SM90_PROBE_NAME)((1,), (1,), (flag,))
            ok = int(flag.get()[0]) == 1
    except Exception as exc:  # e.g. a runtime compiler without sm_90a
        wgmma_error[dev_id] = f"{type(exc).__name__}: {exc}"
        return False
    if not ok:
        wgmma_error[dev_id] = "the module compiled without wgmma (not for sm_90a)"
    return ok


def _wgmma_unusable(w, N: int, K: int, dev: int):
    """None where the wgmma kernel can multiply by ``w``, else why not."""
    if not wgmma_available(dev):
        return f"needs an NVIDIA sm_90 GPU with the wgmma kernels ({wgmma_error.get(dev)})"
    if K % 256:
        return f"needs K a multiple of 256 (whole 144-byte weight pieces), got K = {K}"
    if w.data.data.ptr % 16:
        return "needs 16-byte aligned weight blocks (QuantizedTensor.data)"
    if -(-N // mk.WGMMA_ROWS) > 65535:
        return f"supports at most {65535 * mk.WGMMA_ROWS} weight rows, got N = {N}"
    return None


# ---------------------------------------------------------------- public API
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
        from .host_matmul import check_host_args, host_matmul
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
        x2 = x.reshape(M, K)
        if not x2.flags.c_contiguous or x2.data.ptr % 16:
            x2 = cp.array(x2, order="C", copy=True)
        y2 = out.reshape(M, N)
        dev = x.device.id
        auto = path is None
        if auto:
            path = choose_path(M, x.dtype, dev, N, K)
        if path == "wgmma":
            why = _wgmma_unusable(w, N, K, dev)
            if why is not None:
                if not auto:
                    raise ValueError(f"matmul: path='wgmma' {why}")
                path = _path_without_wgmma(M, _dtype_name(x.dtype), dev)
        if path == "matvec":
            if not _tensor_cores(dev):
                _matvec_gen(cp, x2, w, y2, N, K, dev)
            elif _int8_matvec_for(M, x2.dtype):
                _matvec_int8(cp, x2, w, y2, N, K, dev)
            else:
                _matvec_tc(cp, x2, w, y2, N, K, dev)
        elif path in ("matvec_int8", "matvec_f16tc"):
            if not _tensor_cores(dev):
                raise ValueError(f"matmul: path={path!r} needs NVIDIA tensor cores (sm_80 or newer)")
            (_matvec_int8 if path == "matvec_int8" else _matvec_tc)(cp, x2, w, y2, N, K, dev)
        elif path == "matvec_generic":
            _matvec_gen(cp, x2, w, y2, N, K, dev)
        elif path == "mma":
            if _tensor_cores(dev):
                _mma_tc(cp, x2, w, y2, N, K)
            else:
                _mma_gen(cp, x2, w, y2, N, K)
        elif path == "mma_generic":
            _mma_gen(cp, x2, w, y2, N, K)
        elif path == "wgmma":
            _wgmma(cp, x2, w, y2, N, K, dev)
        else:
            _dequant_gemm(cp, x2, w, y2, N, K)
    return out


# ------------------------------------------------------------------ launches
def _function(name: str):
    from .gpu.modules import get_function
    return get_function(mk.MODULE_KEY, mk.matmul_source(), name)


def _sm90_function(name: str):
    from .gpu.modules import compile_options, get_function
    return get_function(mk.SM90_MODULE_KEY, mk.matmul_sm90_source(), name, compile_options(mk.SM90_OPTIONS))


def _weight_mode(w, row_bytes: int) -> int:
    ptr = w.data.data.ptr
    if ptr % 16 == 0 and row_bytes % 16 == 0:
        return 2
    return 1 if ptr % 2 == 0 else 0


_ws_lock = threading.Lock()
_counters: dict = {}


def _split_counters(cp, n: int, dev: int):
    """Zeroed int32 tile counters for split-K on the current stream (the
    kernel leaves them zero again)."""
    key = (dev, cp.cuda.get_current_stream().ptr)
    with _ws_lock:
        arr = _counters.get(key)
        if arr is None or arr.size < n:
            arr = cp.zeros(max(n, 1024), dtype=cp.int32)
            _counters[key] = arr
    return arr


def _split_k_args(cp, splits: int, rows: int, N: int, tiles: int, dev: int, queues: bool = False) -> tuple:
    """(workspace, counters) arguments of a matrix-vector launch: float32
    partial sums of ``splits`` K ranges for ``rows`` x N outputs (null when K
    is not split), and the tile counters followed, with ``queues`` (persistent
    x_shared kernels), by two per split: the next tile and the thread blocks
    done (null when neither is needed)."""
    ws = cp.empty(splits * rows * N, dtype=cp.float32) if splits > 1 else np.uint64(0)
    if splits <= 1 and not queues:
        return ws, np.uint64(0)
    return ws, _split_counters(cp, tiles + (2 * splits if queues else 0), dev)


def _mv_plan(cp, x_dtype, y_dtype, mc: int, nb: int, tiles: int, n_tiles: int, sms: int) -> tuple:
    """How a chunk of ``mc`` activation rows runs on the tensor-core
    matrix-vector kernel: (kernel, geometry, dynamic shared memory, grid x,
    splits, stages per split, x_shared, full: the grid fills every resident
    slot)."""
    f32 = x_dtype == cp.float32
    cols = mc * (mk.MV_F32_PARTS if f32 else 1)  # B columns
    bps = MV_BLOCKS_PER_SM_LONG_K if mc >= 2 and nb * 32 >= MV_LONG_K else MV_BLOCKS_PER_SM
    limit = MV_X_SHARED_MAX.get(_dtype_name(x_dtype), 0) if n_tiles == 1 else 0
    queue_kernel = _mv_queue_kernel(x_dtype, mc) or \
        (n_tiles == 1 and _mv_f32_one_row_queue(cp, x_dtype, y_dtype, mc, nb, tiles, sms, bps))
    # float32 records within MV_X_SHARED_MANY_TILES: for the queue kernel only
    many = MV_X_SHARED_MANY_TILES.get(_dtype_name(x_dtype), 0) if n_tiles == 1 and (queue_kernel or not f32) else 0
    if limit or many:
        geo = tuple(MV_GEOMETRY) if MV_GEOMETRY is not None else mk.MV_GEOMETRIES[1]
        if MV_GEOMETRY is None and f32 and mk.mv_x_shared_bytes(cols, -(-nb // geo[1]) * geo[1]) > MV_X_SHARED_ANY \
                and not _mv_many_tiles_queue(cp, x_dtype, y_dtype, cols, nb, tiles, sms, bps, many) \
                and (mc > 1 or _mv_small_ring_more_resident(cp, x_dtype, y_dtype, cols, nb, geo, max(limit, many))):
            geo = mk.MV_GEOMETRY_SMALL  # (its smaller stage ring leaves room for more records)
        kb = geo[1]
        smem = mk.mv_x_shared_offset(*geo)  # + the records
        name = mk.mv_tc_name(x_dtype, y_dtype, 1, geo, x_shared=True)
        xs_all = mk.mv_x_shared_bytes(cols, -(-nb // kb) * kb)  # every stage of K; a split needs less
        if xs_all <= max(limit, many):
            # occupancy with room for every stage's records; the kernel gets only its split's (xs)
            _, resident, (splits, sps) = _mv_fit(cp, name, smem + xs_all, sms, nb, tiles, kb, bps)
            xs = mk.mv_x_shared_bytes(cols, sps * kb)
            # Over 32 KiB only while every tile has a resident thread block:
            # with fewer, the lower occupancy lost more than x_shared gained
            # (float32 x, M = 2, 128256 x 4096: 105 -> 133 us, run 3). Records
            # within MV_X_SHARED_MANY_TILES: only where the tiles outnumber
            # the resident thread blocks.
            if (xs_all <= limit and (xs <= MV_X_SHARED_ANY or tiles * splits <= resident)) or \
                    (xs_all <= many and tiles * splits > resident):
                # persistent thread blocks: as many as are resident, at most one a tile
                grid_x = max(1, min(tiles, resident // splits))
                queue = grid_x < tiles and queue_kernel and geo == mk.MV_QUEUE_GEOMETRY
                one_row = MV_ONE_ROW_KERNEL and mc == 1 and not f32 and geo == mk.MV_ONE_ROW_GEOMETRY
                lo, hi = MV_ONE_ROW_COPY_FILL_BAND
                copy_fill = queue and (lo * grid_x < tiles <= hi * grid_x if one_row
                                       else mc >= MV_XS_COPY_FILL_FROM_M)
                name_of = functools.partial(mk.mv_tc_name, x_dtype, y_dtype, 1, geo, x_shared=True, queue=queue,
                                            one_row=one_row, copy_fill=copy_fill)
                name = name_of()
                if MV_XS_QUEUE_REG_BOUND if queue else MV_XS_UNQUEUED_REG_BOUND:
                    name = _mv_reg_bound(cp, name_of, mk.mv_reg_bounds(x_dtype, geo, queue, one_row), smem + xs,
                                         grid_x * splits, sms)
                return (_kernel_with_smem(cp, name, smem + xs), geo, smem + xs, grid_x, splits, sps, True,
                        grid_x >= resident // splits)
    if MV_X_RING and MV_GEOMETRY is None and not f32 and n_tiles == 1 and mc >= 2:
        ring = _mv_x_ring_plan(cp, x_dtype, y_dtype, mc, nb, tiles, sms)
        if ring is not None:
            return ring
    fit = None  # _mv_fit of geo, where already worked out
    if MV_GEOMETRY is not None:
        geo = tuple(MV_GEOMETRY)
    elif f32:
        geo = mk.MV_GEOMETRIES[1]
    elif n_tiles == 1:
        geo = mk.MV_GEOMETRIES[1]  # the larger stages where the tiles are few ...
        fit = _mv_fit(cp, mk.mv_tc_name(x_dtype, y_dtype, 1, geo), mk.mv_smem_bytes(*geo), sms, nb, tiles,
                      geo[1], bps)
        _, resident, (splits, _) = fit
        if tiles * splits > MV_FEW_WAVES * resident:
            geo, fit = mk.MV_GEOMETRY_SMALL, None  # ... else the smaller stage ring
    else:
        geo = mk.MV_GEOMETRIES[0]
    smem = mk.mv_smem_bytes(*geo)
    kern, resident, (splits, sps) = fit or _mv_fit(cp, mk.mv_tc_name(x_dtype, y_dtype, n_tiles, geo), smem, sms,
                                                   nb, tiles, geo[1], bps)
    return kern, geo, smem, tiles, splits, sps, False, tiles * splits >= resident


def _mv_queue_kernel(x_dtype, mc: int) -> bool:
    """Whether ``mc`` rows of ``x_dtype`` take the x_shared queue kernel
    where its grid has fewer thread blocks than tiles (MV_XS_QUEUE_KERNEL,
    MV_F32_QUEUE_ROWS)."""
    name = _dtype_name(x_dtype)
    lo, hi = MV_F32_QUEUE_ROWS
    return name in MV_XS_QUEUE_KERNEL and (name != "float32" or lo <= mc <= hi)


def _mv_f32_one_row_queue(cp, x_dtype, y_dtype, mc: int, nb: int, tiles: int, sms: int, bps) -> bool:
    """Whether one float32 row takes the queue kernel although outside
    MV_F32_QUEUE_ROWS: its records over the whole K (mk.MV_QUEUE_GEOMETRY)
    over MV_X_SHARED_ANY and within MV_X_SHARED_MANY_TILES, and the tiles at
    least MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS rounds of its resident thread
    blocks."""
    if mc != 1 or _dtype_name(x_dtype) != "float32" or not MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS \
            or "float32" not in MV_XS_QUEUE_KERNEL:
        return False
    geo = mk.MV_QUEUE_GEOMETRY
    if mk.mv_x_shared_bytes(mk.MV_F32_PARTS, -(-nb // geo[1]) * geo[1]) <= MV_X_SHARED_ANY:
        return False
    return _mv_many_tiles_queue(cp, x_dtype, y_dtype, mk.MV_F32_PARTS, nb, tiles, sms, bps,
                                MV_X_SHARED_MANY_TILES.get("float32", 0), MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS)


def _mv_small_ring_more_resident(cp, x_dtype, y_dtype, cols: int, nb: int, geo: tuple, limit: int) -> bool:
    """Whether float32 records of ``cols`` B columns over the whole K let
    more thread blocks an SM be resident on mk.MV_GEOMETRY_SMALL's x_shared
    kernel than on ``geo``'s (records within ``limit`` there; else True).
    Where they do not, ``geo``'s larger stages were faster (measured for one
    row only, so asked only for one; more rows keep the small ring). H200, float32 x,
    M = 1, 4096 rows (one wave), us, (16, 32, 3) against (16, 64, 2), two
    rounds (notes/h200_s40/run1, probe_s39 f32geo): 3 against 2 an SM, K =
    9216 / 10240 / 11008: 11.8 / 12.8-12.9 / 15.3 against 13.1 / 13.0-13.1 /
    16.0; 2 an SM both, K = 12288 / 13312 / 14336: 16.4 / 17.7 / 19.1-19.2
    against 14.7 / 16.8-16.9 / 16.9."""
    small = mk.MV_GEOMETRY_SMALL
    per_sm = []
    for g in (small, geo):
        xs_all = mk.mv_x_shared_bytes(cols, -(-nb // g[1]) * g[1])
        if xs_all > limit:
            return True  # geo's records do not fit: only the small ring keeps x_shared
        smem = mk.mv_x_shared_offset(*g) + xs_all
        per_sm.append(_occupancy(cp, _kernel_with_smem(cp, mk.mv_tc_name(x_dtype, y_dtype, 1, g, x_shared=True),
                                                       smem), smem))
    return per_sm[0] > per_sm[1]


def _mv_many_tiles_queue(cp, x_dtype, y_dtype, cols: int, nb: int, tiles: int, sms: int, bps, many: int,
                         min_rounds: float = 0) -> bool:
    """Whether the queue kernel of mk.MV_QUEUE_GEOMETRY takes records of
    ``cols`` B columns over the whole K within ``many`` bytes where the
    tiles outnumber its resident thread blocks (_mv_plan's MANY_TILES rule),
    so that float32 records over MV_X_SHARED_ANY keep that geometry; with
    ``min_rounds``, only where the tiles are at least that many rounds of
    them (_mv_f32_one_row_queue)."""
    geo = mk.MV_QUEUE_GEOMETRY
    xs_all = mk.mv_x_shared_bytes(cols, -(-nb // geo[1]) * geo[1])
    if not many or xs_all > many:
        return False
    name = mk.mv_tc_name(x_dtype, y_dtype, 1, geo, x_shared=True)
    _, resident, (splits, _) = _mv_fit(cp, name, mk.mv_x_shared_offset(*geo) + xs_all, sms, nb, tiles, geo[1], bps)
    return tiles * splits > resident and tiles * splits >= min_rounds * resident


def _mv_reg_bound(cp, name_of, bounds, smem: int, blocks: int, sms: int) -> str:
    """An x_shared kernel's build with registers for the thread blocks an SM
    that ``smem`` bytes of dynamic shared memory allow its own build, where
    that count is one of its ``bounds`` (mk.mv_reg_bounds), a grid of
    ``blocks`` fills that many on ``sms`` multiprocessors, and the bounded
    build keeps them resident; else the kernel's own build.
    ``name_of(reg_bound=...)``: the kernel's name (mk.mv_tc_name with its
    other arguments bound)."""
    name = name_of()
    if not bounds:
        return name
    per_sm = _occupancy(cp, _kernel_with_smem(cp, name, smem), smem)
    if per_sm not in bounds or blocks < per_sm * sms:
        return name
    bound = name_of(reg_bound=per_sm)
    return bound if _occupancy(cp, _kernel_with_smem(cp, bound, smem), smem) >= per_sm else name


def _mv_x_ring_plan(cp, x_dtype, y_dtype, mc: int, nb: int, tiles: int, sms: int):
    """_mv_plan's plan on the "_xr" kernel (MV_X_RING), or None. ``tiles``:
    16-row tiles. K is split into sms // (64-row tiles) parts, whole stages
    each, so that there is at most one thread block an SM (with two an SM,
    4096 x 14336 at M = 8 took 20.3 against 19.3 us; 5120 x 13824, 80 tiles
    in 2 splits, M = 4 / 8 27.8 / 30.7 against 24.0 / 27.8 us, notes/h200_s25
    run 5). None where that grid occupies less than MV_X_RING_MIN_FILL of
    the multiprocessors, where its splits have fewer than
    MV_X_RING_MIN_STAGES stages (up to MV_X_RING_CLUSTER_MAX_SPLITS splits)
    and where it uses less than MV_X_RING_MIN_WORK of its SM-stage slots
    (more splits). From MV_X_RING_SHORT_SPLITS_FROM_M rows, 2 ..
    MV_X_RING_CLUSTER_MAX_SPLITS splits of at least 2 stages need neither
    MV_X_RING_MIN_STAGES nor K of MV_LONG_K; other grids still need that K."""
    geo = mk.MV_X_RING_GEOMETRY
    rt, kb, _ = geo
    tiles_r = -(-tiles * 16 // rt)
    splits, sps = _mv_x_ring_splits(nb, tiles_r, sms)
    if tiles_r * splits > sms or tiles_r * splits < MV_X_RING_MIN_FILL * sms:
        return None
    short_splits = mc >= MV_X_RING_SHORT_SPLITS_FROM_M and 2 <= splits <= MV_X_RING_CLUSTER_MAX_SPLITS \
        and sps >= 2
    if not short_splits and nb * 32 < MV_LONG_K:
        return None
    if splits <= MV_X_RING_CLUSTER_MAX_SPLITS:
        if sps < MV_X_RING_MIN_STAGES and not short_splits:
            return None
    elif tiles_r * -(-nb // kb) < MV_X_RING_MIN_WORK * sms * sps:
        return None
    smem = mk.mv_smem_bytes(*geo) + mk.mv_x_ring_bytes(mc, kb, geo[2])
    kern = _kernel_with_smem(cp, mk.mv_tc_name(x_dtype, y_dtype, 1, geo, x_ring=True), smem)
    resident = _occupancy(cp, kern, smem) * sms
    return kern, geo, smem, tiles_r, splits, sps, False, tiles_r * splits >= resident


def _mv_x_ring_splits(nb: int, tiles_r: int, sms: int) -> tuple[int, int]:
    """(splits, stages per split) of the "_xr" plan: sms // tiles_r splits
    (at least one) of whole 32-block stages, none empty."""
    n_st = -(-nb // mk.MV_X_RING_GEOMETRY[1])
    sps = -(-n_st // max(1, min(n_st, sms // tiles_r)))
    return -(-n_st // sps), sps


def _mv_fit(cp, name: str, smem: int, sms: int, nb: int, tiles: int, kb: int, bps: float | None) -> tuple:
    """(kernel, resident thread blocks, (splits, stages per split)) for the
    kernel ``name`` with ``smem`` bytes of dynamic shared memory on ``sms``
    multiprocessors: K split (``kb`` blocks a stage) so that the (tile,
    split) thread blocks fill about ``bps`` x the resident ones (None: the
    split count of least modelled time, _mv_splits_makespan)."""
    if MV_GEOMETRY is not None and name not in _compiled_kernel_names():
        raise ValueError(f"matmul: MV_GEOMETRY = {tuple(MV_GEOMETRY)} has no compiled kernel {name} for this "
                         f"launch (compiled geometries: {mk.MV_GEOMETRIES + (mk.MV_GEOMETRY_SMALL,)}, the "
                         f"last only for some kernels)")
    kern = _kernel_with_smem(cp, name, smem)
    resident = _occupancy(cp, kern, smem) * sms
    if bps is None:
        clusters = MV_CLUSTER_MAX_SPLITS > 1 and clusters_usable(cp.cuda.Device().id)
        return kern, resident, _mv_splits_makespan(nb, tiles, resident, kb, clusters)
    return kern, resident, _mv_splits(nb, tiles, max(1, int(bps * resident)), kb)


@functools.lru_cache(maxsize=1)
def _compiled_kernel_names() -> frozenset:
    """Kernels of the matmul module: a forced MV_GEOMETRY is checked against
    them (without it the plan asks only for compiled ones; with it, a launch
    at a geometry without its kernel failed with CUDA_ERROR_NOT_FOUND,
    notes/h200_s17 run 4)."""
    return frozenset(mk.all_kernel_names())


def _mv_splits(nb: int, tiles: int, capacity: int, kb: int) -> tuple[int, int]:
    """(splits, stages per split) of K for the tensor-core matrix-vector kernel:
    with fewer row tiles than ``capacity`` resident thread blocks, K is split
    so that the (tile, split) thread blocks fill one wave."""
    n_st = -(-nb // kb)
    splits = 1
    if tiles < capacity:
        splits = max(1, min(n_st, capacity // tiles))
    sps = -(-n_st // splits)
    return -(-n_st // sps), sps


#: Most K splits the model of _mv_splits_makespan considers.
MV_MODEL_MAX_SPLITS = 16


def _mv_splits_makespan(nb: int, tiles: int, resident: int, kb: int,
                        clusters: bool = False) -> tuple[int, int]:
    """(splits, stages per split) of K for the tensor-core matrix-vector kernel
    that a model of its time prefers: the grid's (tile, split) thread blocks
    in launch order (every tile of split 0, then of split 1, ...), each
    taking as many stage times as it has stages (the last one's partial
    stage a fraction), on ``resident`` slots, each block in the first slot
    that frees up; the time is when the last one ends, plus a cost for each
    split after the first: MV_SPLIT_COST where the splits would be summed in
    clusters (``clusters``: the device has them; a grid of one wave and at
    most MV_CLUSTER_MAX_SPLITS splits, see _mv_cluster), MV_SPLIT_COST_GLOBAL
    for the other grids there, MV_SPLIT_COST_NO_CLUSTERS on devices without
    clusters. Ties go to fewer splits. It sees the waves a split count
    leaves (4096 x 11008: 3 splits are 768 thread blocks for 660 slots, a
    second wave that 2 splits do not have), which a fill factor does not.
    Grids whose tiles fill the resident slots are not split (as with a fill
    factor)."""
    n_st = -(-nb // kb)
    if tiles >= resident:
        return 1, n_st
    best = None
    for want in range(1, min(n_st, MV_MODEL_MAX_SPLITS) + 1):
        sps = -(-n_st // want)
        splits = -(-n_st // sps)
        if splits != want:  # the same grid as a smaller count
            continue
        lengths = [min(sps * kb, nb - i * sps * kb) / kb for i in range(splits)]
        in_clusters = clusters and _mv_cluster_grid(splits, tiles, tiles, tiles * splits >= resident)
        cost = MV_SPLIT_COST if in_clusters else MV_SPLIT_COST_GLOBAL if clusters else MV_SPLIT_COST_NO_CLUSTERS
        t = _makespan(tiles, lengths, resident) + cost * (splits - 1)
        if best is None or t < best[0] - 1e-9:
            best = (t, splits, sps)
    return best[1], best[2]


def _makespan(tiles: int, lengths: list, slots: int) -> float:
    """When the last of ``tiles`` x len(lengths) jobs ends (every tile of
    length lengths[0] first, then lengths[1], ...), each started in order on
    the first of ``slots`` slots to free up."""
    if tiles * len(lengths) <= slots:
        return max(lengths)
    free = [0.0] * slots  # a heap of the times the slots free up
    end = 0.0
    for length in lengths:
        for _ in range(tiles):
            t = heapq.heappop(free) + length
            end = max(end, t)
            heapq.heappush(free, t)
    return end


_occ_cache: dict = {}


def _occupancy(cp, kern, smem: int) -> int:
    """Resident thread blocks per multiprocessor for ``kern`` (256 threads)."""
    key = (cp.cuda.Device().id, id(kern), smem)  # the function object: one per module and device
    n = _occ_cache.get(key)
    if n is None:
        n = 0
        try:
            n = int(cp.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(function_handle(kern), mk.THREADS,
                                                                             smem))
        except Exception:
            pass
        if n <= 0:
            n = max(1, min(8, (227 << 10) // (smem + 1024)))
        _occ_cache[key] = n
    return n


def _kernel_with_smem(cp, name: str, smem: int, function=None):
    """The kernel ``name`` of the matmul module (or of ``function``'s, e.g.
    _sm90_function), allowed ``smem`` bytes of dynamic shared memory."""
    kern = (function or _function)(name)
    if smem > (48 << 10):
        key = (cp.cuda.Device().id, id(kern), smem)  # per function object, not name: two modules
        if key not in _smem_set:                     # may hold kernels of the same name
            _set_max_dynamic_smem(cp, kern, smem)
            _smem_set.add(key)
    return kern


_mv_plans: dict = {}
#: Programmatic dependent launch (gpu/launch.py) for the matrix-vector kernels:
#: "capture" = only while the current stream is being captured into a CUDA
#: graph. Back to back in a graph it saves 0.2-0.3 us a product on the H200;
#: called from Python one at a time, its ctypes launch costs 9 us more host
#: time a call (28.5 against 37.5 us, notes/h200_s12 run 8), and such calls
#: are bound by the host. "always" / "never" for A/B runs.
MATVEC_PDL = "capture"
#: The CQ_MV_EARLY bit of the matrix-vector kernels' mode argument
#: (q4_0_mm_common.hip); 0 turns early scheduling and the prefetch off.
MV_EARLY = 4
#: The CQ_MV_CLUSTER bit: the grid is launched as clusters of its K splits.
MV_CLUSTER = 8
#: CQ_MV_READ_ONLY_W (see MV_READ_ONLY_EARLY)
MV_READ_ONLY_W = 16
#: Where PDL is usable, a grid that leaves resident slots free (one wave:
#: 4096 x 4096 and 4096 x 14336 at M = 1, 256 thread blocks on 660 slots),
#: of one K split or one thread block cluster a tile, gets the dynamic shared
#: memory with which just ceil(thread blocks / SMs) of it fit an SM
#: (_mv_cap_occupancy). The grid then fills every slot, so it takes the early
#: path under PDL (CQ_MV_EARLY: L2 prefetch of the first stage before the
#: wait, the next grid scheduled once the last weight copy is issued)
#: without the next grid's thread blocks crowding onto the SMs with room,
#: which is why such grids had been left out of it (session 15). H200, us,
#: on / off, two rounds in both orders (notes/h200_s28 run 3, one split,
#: float16 x unless said): 4096 x 4096 M = 1 / 2 / 4 / 8 5.70-5.73 / 5.90-5.92
#: / 6.85-6.86 / 9.01-9.03 against 6.44-6.50 / 6.69-6.71 / 7.68-7.69 /
#: 9.70-9.72, float32 x M = 1 6.44-6.51 against 7.24-7.31; 4096 x 14336 M =
#: 1 13.56-13.60 against 14.30-14.38; 3072 x 8192 M = 1 8.11 against 8.75;
#: 8192 x 28672 M = 4 ("_xr", one split) 55.82 against 56.32. Cluster grids
#: (run 4, the same rule applied after the cluster plan): 1024 x 4096 M = 1
#: / 4 / 8 3.37 / 3.87-3.88 / 4.65-4.67 against 4.33-4.38 / 4.65-4.68 /
#: 5.37-5.46; 2048 x 4096 M = 1 / 8 4.37-4.41 / 5.65-5.71 against 5.28-5.38 /
#: 6.55-6.62; 2048 x 8192 M = 1 6.08-6.13 against 7.01-7.04; 4096 x 14336 M
#: = 2 / 4 / 8 ("_xr", 2 splits) 16.15-16.19 / 16.75-16.90 / 18.74-18.75
#: against 16.94-17.10 / 17.59-17.74 / 19.39-19.66; 4096 x 11008 M = 2 / 4 /
#: 8 15.76-15.78 / 16.61-16.65 / 19.03-19.08 against 16.00-16.04 /
#: 17.00-17.12 / 19.49-19.50. No measured shape was slower.
MV_CAP_OCCUPANCY = True
#: CQ_MV_READ_ONLY_W: the tensor-core matrix-vector kernels copy a
#: read-only QuantizedTensor's first weight stages into shared memory before
#: their grid dependency wait (under PDL the previous kernel may still be
#: running; it cannot be writing those weights), not only into L2. H200,
#: float16 x, us, two rounds in alternating order, on / off (notes/h200_s31
#: run 4, the submitted kernels): 4096^2 M = 1 / 4 / 8 / 16 5.37 / 6.55 /
#: 8.27 / 11.24-11.37 against 5.86 / 6.99-7.02 / 8.75-8.79 / 12.33-12.44;
#: 14336 x 4096 M = 1 / 4 / 8 / 16 12.92-13.03 / 14.88-15.08 / 19.51-19.57 /
#: 33.36-33.41 against 13.36-13.37 / 15.88 / 19.98-19.99 / 36.26-36.29;
#: 4096 x 14336 M = 1 / 4 / 8 13.18-13.21 / 16.21-16.22 / 18.38-18.49
#: against 13.72-13.73 / 17.06-17.12 / 19.06-19.19 (M = 16 equal); 128256 x
#: 4096 M = 1 / 16 81.4-81.9 / 290-292 against 82.8-83.0 / 315-316, M = 4 /
#: 8 within 1.5%; float32 x M = 1 4096^2 / 14336 x 4096 6.01 / 14.61 against
#: 6.49 / 15.76, M = 8 and 4096 x 14336 within 1%.
MV_READ_ONLY_EARLY = True


def _matvec_pdl(cp) -> bool:
    if MATVEC_PDL != "capture":
        return MATVEC_PDL == "always"
    try:
        return bool(cp.cuda.get_current_stream().is_capturing())
    except Exception:  # no such query, or the legacy stream during another capture
        return False


def _matvec_tc(cp, x2, w, y2, N, K, dev):
    M = x2.shape[0]
    nb = K // 32
    row_bytes = nb * 18
    mode = _weight_mode(w, row_bytes)
    sms = device_info(dev).get("sm_count", 80)
    f32 = x2.dtype == cp.float32
    chunk = 8 if f32 else 16
    tiles = -(-N // 16)  # 16-row tiles (the "_xr" plan counts its 64-row ones from them)
    pdl = _matvec_pdl(cp)
    # The cap serves only the early path, which needs PDL on this launch.
    cap = MV_CAP_OCCUPANCY and pdl and pdl_usable(dev)
    for m0 in range(0, M, chunk):
        mc = min(chunk, M - m0)
        xc, yc = (x2, y2) if mc == M else (x2[m0:m0 + mc], y2[m0:m0 + mc])
        n_tiles = -(-mk.MV_F32_PARTS * mc // 8) if f32 else (1 if mc <= 8 else 2)
        # The plan depends only on these and the module's knobs: cached, since
        # working it out costs more host time than a small kernel takes.
        key = (dev, x2.dtype.char, y2.dtype.char, mc, nb, tiles, n_tiles, sms, mk.MODULE_KEY,
               MV_GEOMETRY and tuple(MV_GEOMETRY), MV_BLOCKS_PER_SM, MV_BLOCKS_PER_SM_LONG_K,
               MV_LONG_K, tuple(sorted(MV_X_SHARED_MAX.items())), MV_X_SHARED_ANY, MV_FEW_WAVES,
               tuple(MV_XS_QUEUE_KERNEL), tuple(sorted(MV_X_SHARED_MANY_TILES.items())),
               MV_SPLIT_COST, MV_SPLIT_COST_GLOBAL, MV_SPLIT_COST_NO_CLUSTERS, MV_MODEL_MAX_SPLITS,
               MV_CLUSTER_MAX_SPLITS, MV_ONE_ROW_KERNEL, MV_XS_COPY_FILL_FROM_M, MV_ONE_ROW_COPY_FILL_BAND,
               MV_XS_QUEUE_REG_BOUND, MV_XS_UNQUEUED_REG_BOUND, MV_F32_QUEUE_ROWS,
               MV_X_RING, MV_X_RING_MIN_STAGES, MV_X_RING_SHORT_SPLITS_FROM_M,
               MV_X_RING_MIN_FILL, MV_X_RING_CLUSTER_MAX_SPLITS, MV_X_RING_MIN_WORK, cap)
        plan = _mv_plans.get(key)
        if plan is None:
            plan = _mv_plan_clusters(cp, _mv_plan(cp, x2.dtype, y2.dtype, mc, nb, tiles, n_tiles, sms),
                                     mc, tiles, sms, dev)
            if cap:
                plan = _mv_cap_occupancy(cp, plan, sms, device_info(dev).get("smem_optin", 0))
            _mv_plans[key] = plan
        kern, geo, smem, grid_x, splits, sps, x_shared, full, cluster = plan
        if f32 and not x_shared:
            # the float16 parts of every value, then each row's largest |x| (32 bits: 2 x 16)
            parts = cp.empty(mk.MV_F32_PARTS * mc * K + 2 * mc, dtype=cp.uint16)
            launch(_function(mk.XPREP_NAME), (mc,), (mk.THREADS,),   # one thread block a row
                   (xc, np.int64(K), np.int32(mc), np.int32(nb), parts), pdl=pdl)
            xin = parts
        else:
            xin = xc
        ws, counters = _split_k_args(cp, 1 if cluster else splits, mc, N, tiles, dev, queues=x_shared)
        # Early scheduling of the next grid and L2 prefetch before the wait
        # (CQ_MV_EARLY): only on full grids launched with PDL, and not where the
        # float32 records' kernel runs first (session 15 run 4, with the early
        # path there and that kernel letting the product be scheduled at once:
        # float32 x, M = 4 / 8, 1-7% / 16-29% slower than in session 14;
        # both are off on that path again, as in session 14).
        flags = MV_EARLY if pdl and full and xin is xc else 0
        if MV_READ_ONLY_EARLY and w.read_only:
            flags |= MV_READ_ONLY_W
        launch(kern, (grid_x, splits), (mk.THREADS,),
               (w.data, np.int64(row_bytes), np.int32(N), np.int32(nb), xin, np.int64(K), np.int32(mc),
                yc, np.int64(N), np.int32(mode | flags | (MV_CLUSTER if cluster else 0)), np.int32(sps), ws,
                counters), shared_mem=smem, pdl=pdl, cluster=(1, splits, 1) if cluster else None)


def _mv_cap_occupancy(cp, plan: tuple, sms: int, smem_optin: int) -> tuple:
    """_mv_plan_clusters' ``plan``, where its grid leaves resident slots free
    and is one K split or one cluster a tile, with the least dynamic shared
    memory (at most ``smem_optin`` bytes a thread block, less its static
    shared memory) with which ceil(thread blocks / ``sms``) of them fit an
    SM, and counted as full (MV_CAP_OCCUPANCY). The kernel uses only the
    bytes it used before; the rest keeps other thread blocks off the SM. A
    cluster grid is capped only where all its clusters stay resident with
    the larger shared memory. (Split grids summed through the global
    workspace are left as they are: not measured.)"""
    kern, geo, smem, grid_x, splits, sps, x_shared, full, cluster = plan
    if full or (splits != 1 and not cluster):
        return plan
    per_sm = -(-grid_x * splits // sms)
    smem_optin -= _static_smem(cp, kern)
    if smem_optin <= smem:
        return plan
    # Allowed the most first: above a kernel's limit the occupancy query says 0.
    widest = _kernel_with_smem(cp, kern.name, smem_optin)

    def fits(nbytes):
        return _occupancy(cp, widest, nbytes)
    if fits(smem) <= per_sm or fits(smem_optin) > per_sm:
        return plan
    lo, hi = smem, smem_optin  # fits(lo) > per_sm >= fits(hi); it falls as the bytes grow
    while hi - lo > 128:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) > per_sm else (lo, mid)
    if fits(hi) != per_sm:  # a step past per_sm: no shared memory gives exactly that
        return plan
    capped = _kernel_with_smem(cp, kern.name, hi)
    if cluster and _clusters_resident(cp, capped, hi, splits, sms) < grid_x:
        return plan
    return capped, geo, hi, grid_x, splits, sps, x_shared, True, cluster


def _static_smem(cp, kern) -> int:
    """``kern``'s static shared memory in bytes (0 where it cannot be read)."""
    try:
        return int(kern.shared_size_bytes)  # cupy.RawKernel
    except AttributeError:
        pass
    try:
        attr = getattr(cp.cuda.driver, "CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES", _CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES)
        return int(cp.cuda.driver.funcGetAttribute(attr, function_handle(kern)))
    except Exception:
        return 0


def _mv_plan_clusters(cp, plan: tuple, mc: int, tiles: int, sms: int, dev: int) -> tuple:
    """_mv_plan's ``plan`` with a last item, whether the grid runs as thread
    block clusters (_mv_cluster), and for clusters the kernel and dynamic
    shared memory with the received sums' bytes added after split 0's ring
    and records. Those bytes can lower the occupancy: clusters only where
    the grid's clusters are all resident at once with them (the driver's
    cuOccupancyMaxActiveClusters, which also sees that a cluster's thread
    blocks share a GPC; else the thread blocks an SM with them), as the
    one-wave test of the plan (made without them) assumed; for the "_xr"
    kernel only up to MV_X_RING_CLUSTER_MAX_SPLITS splits."""
    kern, geo, smem, grid_x, splits, sps, x_shared, full = plan
    tiles = -(-tiles * 16 // geo[0])  # of this geometry (tiles: 16-row ones)
    max_splits = min(MV_CLUSTER_MAX_SPLITS, MV_X_RING_CLUSTER_MAX_SPLITS) if kern.name.endswith("_xr") \
        else MV_CLUSTER_MAX_SPLITS
    if _mv_cluster(splits, grid_x, tiles, full, dev, max_splits):
        smem_c = smem + mk.mv_cluster_sum_bytes(geo[0], mc, splits)
        kern_c = _kernel_with_smem(cp, kern.name, smem_c)
        if _clusters_resident(cp, kern_c, smem_c, splits, sms) >= grid_x:
            return kern_c, geo, smem_c, grid_x, splits, sps, x_shared, full, True
    return kern, geo, smem, grid_x, splits, sps, x_shared, full, False


def _clusters_resident(cp, kern, smem: int, splits: int, sms: int) -> int:
    """Clusters of ``splits`` thread blocks (along y) of ``kern`` that can be
    resident at once."""
    n = max_active_clusters(kern, (mk.THREADS,), smem, (1, splits, 1))
    return n if n is not None else _occupancy(cp, kern, smem) * sms // splits


def _mv_cluster(splits: int, grid_x: int, tiles: int, full: bool, dev: int, max_splits: int | None = None) -> bool:
    """Whether a matrix-vector grid of ``splits`` K splits and ``grid_x``
    thread blocks a split runs as clusters (at most ``max_splits`` splits,
    None: MV_CLUSTER_MAX_SPLITS): only with one thread block a tile (with a
    queue a thread block's tiles are not its cluster's) and where the grid
    leaves resident slots free (not ``full``: one wave), on a device that
    has clusters."""
    return _mv_cluster_grid(splits, grid_x, tiles, full, max_splits) and clusters_usable(dev)


def _mv_cluster_grid(splits: int, grid_x: int, tiles: int, full: bool, max_splits: int | None = None) -> bool:
    """_mv_cluster's rule for the grid alone (the split model asks it too)."""
    limit = MV_CLUSTER_MAX_SPLITS if max_splits is None else max_splits
    return 1 < splits <= limit and grid_x == tiles and not full


def _mvi8_geometry() -> tuple:
    if MVI8_GEOMETRY is not None:
        return tuple(MVI8_GEOMETRY)
    return mk.MVI8_GEOMETRIES[0]


def _matvec_int8(cp, x2, w, y2, N, K, dev):
    """Int8 tensor-core matrix-vector, chunks of up to 8 activation rows: the
    activations' records (cq_q4_0_xprep_i8_*), then one pass over the weights."""
    M = x2.shape[0]
    nb = K // 32
    row_bytes = nb * 18
    mode = _weight_mode(w, row_bytes)
    sms = device_info(dev).get("sm_count", 80)
    geo = _mvi8_geometry()
    kb = geo[0]
    smem = mk.mvi8_smem_bytes(*geo)
    warps = mk.THREADS // 32
    tiles = -(-N // mk.MVI8_ROWS)
    prep = _function(mk.xprep_i8_name(x2.dtype))
    for m0 in range(0, M, mk.MVI8_MAX_M):
        mc = min(mk.MVI8_MAX_M, M - m0)
        xc = x2[m0:m0 + mc]
        yc = y2[m0:m0 + mc]
        nt = -(-mc // 2)
        kern = _kernel_with_smem(cp, mk.mvi8_name(y2.dtype, nt, geo), smem)
        capacity = max(1, int(MVI8_FILL * _occupancy(cp, kern, smem) * warps * sms))
        splits, sps = _mv_splits(nb, tiles, capacity, kb)
        rec = cp.empty(nb * nt * 32 * 4, dtype=cp.uint32)  # uint4 [nb][nt][32]
        pwarps = nb * 2 * nt  # one warp a (block, row) pair
        prep((-(-pwarps // warps),), (mk.THREADS,),
             (xc, np.int64(K), np.int32(mc), np.int32(nb), np.int32(nt), rec))
        ws, counters = _split_k_args(cp, splits, mc, N, tiles, dev)
        kern((-(-tiles // warps), splits), (mk.THREADS,),
             (w.data, np.int64(row_bytes), np.int32(N), np.int32(nb), rec, np.int32(mc),
              yc, np.int64(N), np.int32(mode), np.int32(tiles), np.int32(sps), ws, counters),
             shared_mem=smem)


def _matvec_gen(cp, x2, w, y2, N, K, dev):
    M = x2.shape[0]
    nb = K // 32
    row_bytes = nb * 18
    mode = 1 if w.data.data.ptr % 2 == 0 else 0
    warp = device_info(dev).get("warp_size", 32)
    rows_per_block = mk.THREADS // warp
    grid = min(-(-N // rows_per_block), 1 << 20)
    kern = _function(mk.mv_gen_name(x2.dtype, y2.dtype))
    for m0 in range(0, M, 8):
        mc = min(8, M - m0)
        kern((grid,), (mk.THREADS,),
             (w.data, np.int64(row_bytes), np.int32(N), np.int32(nb), x2[m0:m0 + mc], np.int64(K),
              np.int32(mc), y2[m0:m0 + mc], np.int64(N), np.int32(mode)))


def _as_f16(cp, x2):
    """float16 x for the kernels that read it as such: x itself, or a fresh
    (aligned, contiguous) copy rounded to nearest-even by the format
    registry's F32 -> float16 kernel, bandwidth-tuned for the dequantization
    (CuPy's astype took 39 us of the 154 of a 512 x 14336 float32 product on
    the H200, notes/h200_s16 run 6)."""
    if x2.dtype == cp.float16:
        return x2
    from .formats import FORMATS
    from .gpu.dequant import launch_dequant
    x16 = cp.empty(x2.shape, dtype=cp.float16)
    if x2.dtype == cp.float32 and x2.flags.c_contiguous and x2.size:
        launch_dequant(FORMATS["F32"], x2.reshape(-1).view(cp.uint8), x16.reshape(-1))
    else:
        x16[...] = x2
    return x16


_smem_set: set = set()


def _set_max_dynamic_smem(cp, kern, nbytes: int) -> None:
    """Allow ``nbytes`` of dynamic shared memory (over the 48 KiB default)."""
    try:
        for _ in range(3):  # cupy.RawKernel; read back (loads a lazily loaded function)
            if kern.max_dynamic_shared_size_bytes >= nbytes:
                return
            kern.max_dynamic_shared_size_bytes = nbytes
        return
    except AttributeError:
        pass
    attr = getattr(cp.cuda.driver, "CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES",
                   _CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES)
    cp.cuda.driver.funcSetAttribute(function_handle(kern), attr, nbytes)


def _mma_tc(cp, x2, w, y2, N, K):
    M = x2.shape[0]
    nb = K // 32
    row_bytes = nb * 18
    mode = _weight_mode(w, row_bytes)
    x16 = _as_f16(cp, x2)
    kern = _kernel_with_smem(cp, mk.mm_tc_name(y2.dtype), mk.MM_TC_SMEM)
    bm, bn = mk.MM_TC_TILE
    kern((-(-M // bm), -(-N // bn)), (mk.THREADS,),
         (w.data, np.int64(row_bytes), np.int32(N), np.int32(nb), x16, np.int64(K), np.int32(M),
          y2, np.int64(N), np.int32(mode)),
         shared_mem=mk.MM_TC_SMEM)


def _wgmma_blocks(M: int, N: int, width: int, rows: int = mk.WGMMA_ROWS) -> int:
    """Thread blocks of the wgmma kernel (one split): ``rows`` weight rows x
    ``width`` activation rows each."""
    return -(-N // rows) * -(-M // width)


def _wgmma_choice(M: int, N: int, K: int, sms: int) -> tuple[int, int, int, int]:
    """(weight rows, width, splits, stages per split) of the wgmma kernel for an
    M x N x K product: thread blocks of 64 weight rows x 256 activation rows
    where they, or they split in two over K, make one wave of
    WGMMA_R64_MIN_BLOCKS_PER_SM to 1 an SM (WGMMA_SPLIT_MIN_K <= K <=
    WGMMA_R64_MAX_K), else :func:`_wgmma_plan`'s blocks of 128 weight rows."""
    if WGMMA_R64 and M > WGMMA_WIDE_MIN_M and WGMMA_SPLIT_MIN_K <= K <= WGMMA_R64_MAX_K:
        blocks = _wgmma_blocks(M, N, 256, 64)
        wave = mk.wgmma_blocks_per_sm(256, 64) * sms
        for splits, sps in ((1, K // 64), _wgmma_split(K // 256, 2)):
            if WGMMA_R64_MIN_BLOCKS_PER_SM * sms <= splits * blocks <= wave:
                return 64, 256, splits, sps
    return (mk.WGMMA_ROWS,) + _wgmma_plan(M, N, K, sms)


def _wgmma_plan(M: int, N: int, K: int, sms: int) -> tuple[int, int, int]:
    """(width, splits, stages per split) of the wgmma kernel for an M x N x K product."""
    groups = K // 256  # the weights come 4 stages at a time: a split is whole groups
    if M > WGMMA_WIDE_MIN_M:
        wide = _wgmma_blocks(M, N, 256)
        extra_rows = -(-M // 256) * 256 - -(-M // 128) * 128  # padding of 256-row tiles beyond 128-row ones
        if wide >= WGMMA_WIDE_MIN_ROUNDS * sms and extra_rows <= WGMMA_WIDE_MAX_EXTRA_ROWS:
            return 256, 1, K // 64
        if K >= WGMMA_WIDE_SPLIT_MIN_K and WGMMA_SPLIT_MAX_BLOCKS_PER_SM * sms < _wgmma_blocks(M, N, 128) <= sms:
            return (256,) + _wgmma_split(groups, sms // wide)
    width = 64 if M <= WGMMA_NARROW_MAX_M else 128
    blocks = _wgmma_blocks(M, N, width)
    limit = WGMMA_SPLIT_MAX_BLOCKS_PER_SM_N64 if width == 64 else WGMMA_SPLIT_MAX_BLOCKS_PER_SM
    fit = int(WGMMA_SPLIT_BLOCKS_PER_SM * sms) // blocks if blocks <= limit * sms else 1
    return (width,) + _wgmma_split(groups, fit)


def _wgmma_split(groups: int, fit: int) -> tuple[int, int]:
    """(splits, stages per split): K (``groups`` groups of 4 stages) in at
    most ``fit`` ranges of whole groups, each at least
    WGMMA_MIN_STAGES_PER_SPLIT stages."""
    splits = max(1, min(fit, groups // max(1, WGMMA_MIN_STAGES_PER_SPLIT // 4)))
    per = -(-groups // splits)
    return -(-groups // per), 4 * per


def _wgmma_tail(M: int, N: int, width: int, sms: int) -> int:
    """Weight rows of the unsplit launch of the wgmma kernel where its grid
    (``width`` activation rows a block, no split) runs in several waves and the
    last one fills at most half the resident slots: those tiles then go to a
    second launch, split over K to fill the slots (WGMMA_TAIL); else N."""
    blocks = _wgmma_blocks(M, N, width)
    slots = mk.wgmma_blocks_per_sm(width) * sms
    last = blocks % slots
    if not WGMMA_TAIL or blocks <= slots or last == 0 or 2 * last > slots:
        return N
    m_tiles = -(-M // width)  # the last wave's blocks as whole weight tiles (all their activation tiles)
    return (-(-N // mk.WGMMA_ROWS) - -(-last // m_tiles)) * mk.WGMMA_ROWS


def _wgmma(cp, x2, w, y2, N, K, dev):
    M = x2.shape[0]
    x16 = _as_f16(cp, x2)
    sms = device_info(dev)["sm_count"]
    rows, width, splits, sps = _wgmma_choice(M, N, K, sms)
    if rows != mk.WGMMA_ROWS:  # one wave by construction
        _wgmma_launch(cp, x16, w.data, y2, N, K, width, splits, sps, dev, rows, WGMMA_R64_WARPGROUPS)
        return
    n_main = _wgmma_tail(M, N, width, sms) if splits == 1 else N
    _wgmma_launch(cp, x16, w.data, y2, n_main, K, width, splits, sps, dev)
    if n_main < N:  # the last wave's tiles, split over K
        tail = _wgmma_blocks(M, N - n_main, width)
        splits, sps = _wgmma_split(K // 256, mk.wgmma_blocks_per_sm(width) * sms // tail)
        row_bytes = K // 32 * 18
        _wgmma_launch(cp, x16, w.data[n_main * row_bytes:], y2[:, n_main:], N - n_main, K, width, splits, sps,
                      dev)


def _wgmma_launch(cp, x16, wdata, y2, N, K, width, splits, sps, dev, rows=mk.WGMMA_ROWS, warpgroups=2):
    """One launch of the wgmma kernel: x16 (M x K float16) times the N weight
    rows from ``wdata`` (uint8, 16-byte aligned) into y2 (M x N, rows N apart
    or wider: a column slice of the result); thread blocks of ``rows`` weight
    rows x ``width`` activation rows, ``warpgroups`` warpgroups (64 rows: 1
    or 2)."""
    M = x16.shape[0]
    maps = _tensor_maps(x16, wdata.data.ptr, M, N, K, width, rows) if WGMMA_TMA else ()
    if rows != mk.WGMMA_ROWS and not maps:
        warpgroups = 1  # turns over K need the TMA's mbarriers: the one-warpgroup cp.async kernel
    smem = mk.wgmma_smem_bytes(width, rows, warpgroups)
    kern = _kernel_with_smem(cp, mk.wgmma_name(y2.dtype, width, bool(maps), rows, warpgroups), smem,
                             _sm90_function)
    grid = (-(-M // width), -(-N // rows), splits)
    ws, counters = _split_k_args(cp, splits, M, N, grid[0] * grid[1], dev)
    # (launch passes the tensor maps by value; without them it is CuPy's launch)
    launch(kern, grid, (mk.wgmma_threads(warpgroups),),
           maps + (wdata, np.int64(K // 32 * 18), np.int32(N), np.int32(K // 32), x16, np.int64(K), np.int32(M),
                   y2, np.int64(y2.strides[0] // y2.itemsize), np.int32(sps), ws, counters),
           shared_mem=smem)


def _tensor_maps(x16, w_ptr: int, M: int, N: int, K: int, width: int, rows: int = mk.WGMMA_ROWS) -> tuple:
    """The TMA tensor maps of the wgmma _tma_ kernels: the activations (boxes
    of ``width`` rows, or M rounded up to 8, x 64 columns, 128-byte swizzle)
    and the N weight rows at ``w_ptr`` (boxes of ``rows`` rows x 144 bytes,
    4 stages of K), or () where the driver cannot encode them (the kernel then
    copies with cp.async; tma_error says why)."""
    from .gpu import tensor_map
    if not tensor_map.available():
        return ()
    try:
        xmap = tensor_map.f16_rows_tiled(x16.data.ptr, M, K, K, mk.wgmma_x_box_rows(M, width), 64)
        return xmap, _w_tensor_map(w_ptr, N, K // 32 * 18, WGMMA_W_L2_PROMOTION, rows)
    except (RuntimeError, ValueError) as exc:
        tma_error.setdefault(x16.device.id, repr(exc))
        return ()


@functools.lru_cache(maxsize=256)
def _w_tensor_map(ptr: int, N: int, row_bytes: int, l2_promotion: int, rows: int = mk.WGMMA_ROWS):
    """A weight's tensor map (boxes of ``rows`` rows): a function of its
    address, shape, box and the L2 promotion only, so cached (a decode step
    multiplies by the same weights every token)."""
    from .gpu import tensor_map
    return tensor_map.u8_rows_tiled(ptr, N, row_bytes, rows, mk.WGMMA_W_BOX_BYTES, l2_promotion)


def _mma_gen(cp, x2, w, y2, N, K):
    M = x2.shape[0]
    nb = K // 32
    x16 = _as_f16(cp, x2)
    bm, bn = mk.MM_GEN_TILE
    kern = _function(mk.mm_gen_name(y2.dtype))
    kern((-(-M // bm), -(-N // bn)), (mk.THREADS,),
         (w.data, np.int64(nb * 18), np.int32(N), np.int32(nb), x16, np.int64(K), np.int32(M),
          y2, np.int64(N)))


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
    if backend() != "cuda" or y.dtype.name not in _CUDA_DTYPE:
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
                  y.data.ptr + col0 * y.dtype.itemsize, _CUDA_DTYPE[y.dtype.name], N,
                  _CUBLAS_COMPUTE_32F, _CUBLAS_GEMM_DEFAULT)
    return True


_raw_gemm_ok = {}
#: The exception that disabled the direct cuBLAS call, if any (diagnostics).
raw_gemm_error = None


def _dequant_gemm(cp, x2, w, y2, N, K):
    from .gpu.dequant import launch_dequant

    fmt = w.format
    row_bytes = K // 32 * 18
    x16 = _as_f16(cp, x2)
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
