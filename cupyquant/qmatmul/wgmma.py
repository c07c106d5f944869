"""The fused matrix-matrix kernels on Hopper's warpgroup instructions
(q4_0_matmul_sm90.hip, sm_90a): when the automatic path takes them, the
thread block shape and K splits of a product, the tail launch of a last
wave, the TMA tensor maps, and the launch."""

from __future__ import annotations

import functools

import numpy as np

from .. import matmul_kernels as mk
from . import runtime as rt


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
    if rt.cuda_sm(dev_id) != 90:
        wgmma_error[dev_id] = "not an NVIDIA sm_90 GPU"
        return False
    cp = rt.cupy_module()
    try:
        with cp.cuda.Device(dev_id):
            flag = cp.zeros(1, dtype=cp.int32)
            rt._sm90_function(mk.SM90_PROBE_NAME)((1,), (1,), (flag,))
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
    x16 = rt._as_f16(cp, x2)
    sms = rt.device_info(dev)["sm_count"]
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
    kern = rt._kernel_with_smem(cp, mk.wgmma_name(y2.dtype, width, bool(maps), rows, warpgroups), smem,
                                rt._sm90_function)
    grid = (-(-M // width), -(-N // rows), splits)
    ws, counters = rt._split_k_args(cp, splits, M, N, grid[0] * grid[1], dev)
    # (launch passes the tensor maps by value; without them it is CuPy's launch)
    rt.launch(kern, grid, (mk.wgmma_threads(warpgroups),),
              maps + (wdata, np.int64(K // 32 * 18), np.int32(N), np.int32(K // 32), x16, np.int64(K), np.int32(M),
                      y2, np.int64(y2.strides[0] // y2.itemsize), np.int32(sps), ws, counters),
              shared_mem=smem)


def _tensor_maps(x16, w_ptr: int, M: int, N: int, K: int, width: int, rows: int = mk.WGMMA_ROWS) -> tuple:
    """The TMA tensor maps of the wgmma _tma_ kernels: the activations (boxes
    of ``width`` rows, or M rounded up to 8, x 64 columns, 128-byte swizzle)
    and the N weight rows at ``w_ptr`` (boxes of ``rows`` rows x 144 bytes,
    4 stages of K), or () where the driver cannot encode them (the kernel then
    copies with cp.async; tma_error says why)."""
    from ..gpu import tensor_map
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
    from ..gpu import tensor_map
    return tensor_map.u8_rows_tiled(ptr, N, row_bytes, rows, mk.WGMMA_W_BOX_BYTES, l2_promotion)
