"""How a matrix-vector grid is laid out once its kernel is chosen: K split
into ranges (a fill factor, or a model of the grid's waves), K splits summed
in thread block clusters where the grid is one wave, and the shared memory
cap that makes a one-wave grid fill every slot under PDL."""

from __future__ import annotations

import heapq

from .. import matmul_kernels as mk
from . import plan_settings, runtime as rt


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
#: of mv_plan.MV_BLOCKS_PER_SM_LONG_K (notes/h200_s21; M = 8, 660 resident
#: slots) is the model's choice for 0.7-0.95; at
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
    smem_optin -= rt._static_smem(cp, kern)
    if smem_optin <= smem:
        return plan
    # Allowed the most first: above a kernel's limit the occupancy query says 0.
    widest = rt._kernel_with_smem(cp, kern.name, smem_optin)

    def fits(nbytes):
        return rt._occupancy(cp, widest, nbytes)
    if fits(smem) <= per_sm or fits(smem_optin) > per_sm:
        return plan
    lo, hi = smem, smem_optin  # fits(lo) > per_sm >= fits(hi); it falls as the bytes grow
    while hi - lo > 128:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) > per_sm else (lo, mid)
    if fits(hi) != per_sm:  # a step past per_sm: no shared memory gives exactly that
        return plan
    capped = rt._kernel_with_smem(cp, kern.name, hi)
    if cluster and _clusters_resident(cp, capped, hi, splits, sms) < grid_x:
        return plan
    return capped, geo, hi, grid_x, splits, sps, x_shared, True, cluster


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
        kern_c = rt._kernel_with_smem(cp, kern.name, smem_c)
        if _clusters_resident(cp, kern_c, smem_c, splits, sms) >= grid_x:
            return kern_c, geo, smem_c, grid_x, splits, sps, x_shared, full, True
    return kern, geo, smem, grid_x, splits, sps, x_shared, full, False


def _clusters_resident(cp, kern, smem: int, splits: int, sms: int) -> int:
    """Clusters of ``splits`` thread blocks (along y) of ``kern`` that can be
    resident at once."""
    n = rt.max_active_clusters(kern, (mk.THREADS,), smem, (1, splits, 1))
    return n if n is not None else rt._occupancy(cp, kern, smem) * sms // splits


def _mv_cluster(splits: int, grid_x: int, tiles: int, full: bool, dev: int, max_splits: int | None = None) -> bool:
    """Whether a matrix-vector grid of ``splits`` K splits and ``grid_x``
    thread blocks a split runs as clusters (at most ``max_splits`` splits,
    None: MV_CLUSTER_MAX_SPLITS): only with one thread block a tile (with a
    queue a thread block's tiles are not its cluster's) and where the grid
    leaves resident slots free (not ``full``: one wave), on a device that
    has clusters."""
    return _mv_cluster_grid(splits, grid_x, tiles, full, max_splits) and rt.clusters_usable(dev)


def _mv_cluster_grid(splits: int, grid_x: int, tiles: int, full: bool, max_splits: int | None = None) -> bool:
    """_mv_cluster's rule for the grid alone (the split model asks it too)."""
    limit = MV_CLUSTER_MAX_SPLITS if max_splits is None else max_splits
    return 1 < splits <= limit and grid_x == tiles and not full


# matvec caches plans under plan_settings.generation: count assignments here.
plan_settings.watch(__name__)
