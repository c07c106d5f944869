"""Which tensor-core matrix-vector kernel a chunk of activation rows takes,
at which geometry and shared memory: x_shared records (with or without a
queue of tiles, register-bound builds), the "_xr" ring, or x from global
memory. The MV_* settings here are the measured rules; K splits, clusters
and the occupancy cap are mv_grid's."""

from __future__ import annotations

import functools

from .. import matmul_kernels as mk
from . import mv_grid, plan_settings, runtime as rt


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
#: x_shared kernel copies with four, CQ_MV_XS_COPY_WARPS in q4_0_matvec_tc.hip.)
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
#: (cq_mv_fill_x's CP and XSC in q4_0_matvec_tc.hip). From this many float16 rows
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
#: for "_xr" (mv_grid.MV_X_RING_CLUSTER_MAX_SPLITS). With the global sum, 4 splits
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


def _mv_plan(cp, x_dtype, y_dtype, mc: int, nb: int, tiles: int, n_tiles: int, sms: int) -> tuple:
    """How a chunk of ``mc`` activation rows runs on the tensor-core
    matrix-vector kernel: (kernel, geometry, dynamic shared memory, grid x,
    splits, stages per split, x_shared, full: the grid fills every resident
    slot)."""
    f32 = x_dtype == cp.float32
    cols = mc * (mk.MV_F32_PARTS if f32 else 1)  # B columns
    bps = MV_BLOCKS_PER_SM_LONG_K if mc >= 2 and nb * 32 >= MV_LONG_K else MV_BLOCKS_PER_SM
    limit = MV_X_SHARED_MAX.get(rt._dtype_name(x_dtype), 0) if n_tiles == 1 else 0
    queue_kernel = _mv_queue_kernel(x_dtype, mc) or \
        (n_tiles == 1 and _mv_f32_one_row_queue(cp, x_dtype, y_dtype, mc, nb, tiles, sms, bps))
    # float32 records within MV_X_SHARED_MANY_TILES: for the queue kernel only
    many = MV_X_SHARED_MANY_TILES.get(rt._dtype_name(x_dtype), 0) if n_tiles == 1 and (queue_kernel or not f32) else 0
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
                return (rt._kernel_with_smem(cp, name, smem + xs), geo, smem + xs, grid_x, splits, sps, True,
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
    name = rt._dtype_name(x_dtype)
    lo, hi = MV_F32_QUEUE_ROWS
    return name in MV_XS_QUEUE_KERNEL and (name != "float32" or lo <= mc <= hi)


def _mv_f32_one_row_queue(cp, x_dtype, y_dtype, mc: int, nb: int, tiles: int, sms: int, bps) -> bool:
    """Whether one float32 row takes the queue kernel although outside
    MV_F32_QUEUE_ROWS: its records over the whole K (mk.MV_QUEUE_GEOMETRY)
    over MV_X_SHARED_ANY and within MV_X_SHARED_MANY_TILES, and the tiles at
    least MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS rounds of its resident thread
    blocks."""
    if mc != 1 or rt._dtype_name(x_dtype) != "float32" or not MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS \
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
        kern = rt._kernel_with_smem(cp, mk.mv_tc_name(x_dtype, y_dtype, 1, g, x_shared=True), smem)
        per_sm.append(rt._occupancy(cp, kern, smem))
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
    per_sm = rt._occupancy(cp, rt._kernel_with_smem(cp, name, smem), smem)
    if per_sm not in bounds or blocks < per_sm * sms:
        return name
    bound = name_of(reg_bound=per_sm)
    return bound if rt._occupancy(cp, rt._kernel_with_smem(cp, bound, smem), smem) >= per_sm else name


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
    rows, kb, _ = geo
    tiles_r = -(-tiles * 16 // rows)
    splits, sps = _mv_x_ring_splits(nb, tiles_r, sms)
    if tiles_r * splits > sms or tiles_r * splits < MV_X_RING_MIN_FILL * sms:
        return None
    short_splits = mc >= MV_X_RING_SHORT_SPLITS_FROM_M and 2 <= splits <= mv_grid.MV_X_RING_CLUSTER_MAX_SPLITS \
        and sps >= 2
    if not short_splits and nb * 32 < MV_LONG_K:
        return None
    if splits <= mv_grid.MV_X_RING_CLUSTER_MAX_SPLITS:
        if sps < MV_X_RING_MIN_STAGES and not short_splits:
            return None
    elif tiles_r * -(-nb // kb) < MV_X_RING_MIN_WORK * sms * sps:
        return None
    smem = mk.mv_smem_bytes(*geo) + mk.mv_x_ring_bytes(mc, kb, geo[2])
    kern = rt._kernel_with_smem(cp, mk.mv_tc_name(x_dtype, y_dtype, 1, geo, x_ring=True), smem)
    resident = rt._occupancy(cp, kern, smem) * sms
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
    kern = rt._kernel_with_smem(cp, name, smem)
    resident = rt._occupancy(cp, kern, smem) * sms
    if bps is None:
        clusters = mv_grid.MV_CLUSTER_MAX_SPLITS > 1 and rt.clusters_usable(cp.cuda.Device().id)
        return kern, resident, mv_grid._mv_splits_makespan(nb, tiles, resident, kb, clusters)
    return kern, resident, mv_grid._mv_splits(nb, tiles, max(1, int(bps * resident)), kb)


@functools.lru_cache(maxsize=1)
def _compiled_kernel_names() -> frozenset:
    """Kernels of the matmul module: a forced MV_GEOMETRY is checked against
    them (without it the plan asks only for compiled ones; with it, a launch
    at a geometry without its kernel failed with CUDA_ERROR_NOT_FOUND,
    notes/h200_s17 run 4)."""
    return frozenset(mk.all_kernel_names())


# matvec caches plans under plan_settings.generation: count assignments here.
plan_settings.watch(__name__)
