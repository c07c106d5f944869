"""The matrix-vector launches (small M): the tensor-core kernel chunk by
chunk of activation rows with a cached plan (mv_plan, mv_grid), the int8
tensor-core kernel, and the portable kernel; PDL and the mode bits each
launch passes."""

from __future__ import annotations

import numpy as np

from .. import matmul_kernels as mk
from . import mv_grid, mv_plan, plan_settings, runtime as rt


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


def _int8_matvec_for(M: int, x_dtype) -> bool:
    if not MATVEC_INT8_M:   # the default
        return False
    lo, hi = MATVEC_INT8_M.get(rt._dtype_name(x_dtype), (1, 0))
    return lo <= M <= min(hi, mk.MVI8_MAX_M)


#: _matvec_tc's plans, by the launch's shape and plan_settings.generation.
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
    mode = rt._weight_mode(w, row_bytes)
    sms = rt.device_info(dev).get("sm_count", 80)
    f32 = x2.dtype == cp.float32
    chunk = 8 if f32 else 16
    tiles = -(-N // 16)  # 16-row tiles (the "_xr" plan counts its 64-row ones from them)
    pdl = _matvec_pdl(cp)
    # The cap serves only the early path, which needs PDL on this launch.
    cap = MV_CAP_OCCUPANCY and pdl and rt.pdl_usable(dev)
    for m0 in range(0, M, chunk):
        mc = min(chunk, M - m0)
        xc, yc = (x2, y2) if mc == M else (x2[m0:m0 + mc], y2[m0:m0 + mc])
        n_tiles = -(-mk.MV_F32_PARTS * mc // 8) if f32 else (1 if mc <= 8 else 2)
        # The plan depends only on these and mv_plan's / mv_grid's settings
        # (plan_settings counts assignments to them): cached, since working it
        # out costs more host time than a small kernel takes.
        key = (dev, x2.dtype.char, y2.dtype.char, mc, nb, tiles, n_tiles, sms, cap, plan_settings.generation)
        plan = _mv_plans.get(key)
        if plan is None:
            if len(_mv_plans) >= 4096:  # plans of earlier settings generations, or many shapes
                _mv_plans.clear()
            plan = mv_plan._mv_plan(cp, x2.dtype, y2.dtype, mc, nb, tiles, n_tiles, sms)
            plan = mv_grid._mv_plan_clusters(cp, plan, mc, tiles, sms, dev)
            if cap:
                plan = mv_grid._mv_cap_occupancy(cp, plan, sms, rt.device_info(dev).get("smem_optin", 0))
            _mv_plans[key] = plan
        kern, geo, smem, grid_x, splits, sps, x_shared, full, cluster = plan
        if f32 and not x_shared:
            # the float16 parts of every value, then each row's largest |x| (32 bits: 2 x 16)
            parts = cp.empty(mk.MV_F32_PARTS * mc * K + 2 * mc, dtype=cp.uint16)
            rt.launch(rt._function(mk.XPREP_NAME), (mc,), (mk.THREADS,),   # one thread block a row
                      (xc, np.int64(K), np.int32(mc), np.int32(nb), parts), pdl=pdl)
            xin = parts
        else:
            xin = xc
        ws, counters = rt._split_k_args(cp, 1 if cluster else splits, mc, N, tiles, dev, queues=x_shared)
        # Early scheduling of the next grid and L2 prefetch before the wait
        # (CQ_MV_EARLY): only on full grids launched with PDL, and not where the
        # float32 records' kernel runs first (session 15 run 4, with the early
        # path there and that kernel letting the product be scheduled at once:
        # float32 x, M = 4 / 8, 1-7% / 16-29% slower than in session 14;
        # both are off on that path again, as in session 14).
        flags = MV_EARLY if pdl and full and xin is xc else 0
        if MV_READ_ONLY_EARLY and w.read_only:
            flags |= MV_READ_ONLY_W
        rt.launch(kern, (grid_x, splits), (mk.THREADS,),
                  (w.data, np.int64(row_bytes), np.int32(N), np.int32(nb), xin, np.int64(K), np.int32(mc),
                   yc, np.int64(N), np.int32(mode | flags | (MV_CLUSTER if cluster else 0)), np.int32(sps), ws,
                   counters), shared_mem=smem, pdl=pdl, cluster=(1, splits, 1) if cluster else None)


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
    mode = rt._weight_mode(w, row_bytes)
    sms = rt.device_info(dev).get("sm_count", 80)
    geo = _mvi8_geometry()
    kb = geo[0]
    smem = mk.mvi8_smem_bytes(*geo)
    warps = mk.THREADS // 32
    tiles = -(-N // mk.MVI8_ROWS)
    prep = rt._function(mk.xprep_i8_name(x2.dtype))
    for m0 in range(0, M, mk.MVI8_MAX_M):
        mc = min(mk.MVI8_MAX_M, M - m0)
        xc = x2[m0:m0 + mc]
        yc = y2[m0:m0 + mc]
        nt = -(-mc // 2)
        kern = rt._kernel_with_smem(cp, mk.mvi8_name(y2.dtype, nt, geo), smem)
        capacity = max(1, int(MVI8_FILL * rt._occupancy(cp, kern, smem) * warps * sms))
        splits, sps = mv_grid._mv_splits(nb, tiles, capacity, kb)
        rec = cp.empty(nb * nt * 32 * 4, dtype=cp.uint32)  # uint4 [nb][nt][32]
        pwarps = nb * 2 * nt  # one warp a (block, row) pair
        prep((-(-pwarps // warps),), (mk.THREADS,),
             (xc, np.int64(K), np.int32(mc), np.int32(nb), np.int32(nt), rec))
        ws, counters = rt._split_k_args(cp, splits, mc, N, tiles, dev)
        kern((-(-tiles // warps), splits), (mk.THREADS,),
             (w.data, np.int64(row_bytes), np.int32(N), np.int32(nb), rec, np.int32(mc),
              yc, np.int64(N), np.int32(mode), np.int32(tiles), np.int32(sps), ws, counters),
             shared_mem=smem)


def _matvec_gen(cp, x2, w, y2, N, K, dev):
    M = x2.shape[0]
    nb = K // 32
    row_bytes = nb * 18
    mode = 1 if w.data.data.ptr % 2 == 0 else 0
    warp = rt.device_info(dev).get("warp_size", 32)
    rows_per_block = mk.THREADS // warp
    grid = min(-(-N // rows_per_block), 1 << 20)
    kern = rt._function(mk.mv_gen_name(x2.dtype, y2.dtype))
    for m0 in range(0, M, 8):
        mc = min(8, M - m0)
        kern((grid,), (mk.THREADS,),
             (w.data, np.int64(row_bytes), np.int32(N), np.int32(nb), x2[m0:m0 + mc], np.int64(K),
              np.int32(mc), y2[m0:m0 + mc], np.int64(N), np.int32(mode)))
