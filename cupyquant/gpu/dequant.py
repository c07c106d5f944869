"""GPU dequantization: validate a device buffer, pick the kernel, launch it."""

from __future__ import annotations

import functools

import numpy as np

from .launch import launch
from .modules import device_table, get_function
from .platform import cupy_module, device_info

THREADS = 256        # CQ_THREADS in hip/common.h
TILE_BYTES_MAX = 16384  # CQ_TILE_BYTES_MAX
UNROLL_MAX = 8          # CQ_UNROLL_MAX
# Thread blocks an SM at most: measured best on the H100 and again on the H200
# with warp tiles (one tile a thread block at 14336 x 4096; persistent grids of
# 4 / 8 / 12 an SM ran at 0.84-0.89 of the copy against 0.90-0.92, notes/h200_s11
# run 3); a grid-stride loop does the rest.
BLOCKS_PER_SM = 32


def tile_elems(fmt) -> int:
    """Elements one thread block decodes per tile (cq_tile<D>::elems)."""
    bytes_u1 = THREADS * 8 // fmt.block_size * fmt.type_size
    return THREADS * 8 * max(1, min(UNROLL_MAX, TILE_BYTES_MAX // bytes_u1))


def tiles_of(fmt, n_blocks: int) -> int:
    """Tiles of a launch over ``n_blocks`` blocks (the grid, before its cap:
    thread blocks take tiles in a grid-stride loop)."""
    return -(-n_blocks * fmt.block_size // tile_elems(fmt))


def tile_bytes(fmt) -> int:
    """Input bytes of one full tile (cq_tile<D>::bytes)."""
    return tile_elems(fmt) // fmt.block_size * fmt.type_size


# L2 prefetch (hip/common.h, cq_dequant_tiles): each thread block asks L2 for
# the first tile of the thread block ``l2_ahead`` places after it, so that
# this one finds its bytes there instead of waiting ~2.5 us for memory busy
# with writes. H200, 14336 x 4096 (notes/h200_s13 run 3), fraction of the
# copy without -> with the prefetch of about this window: float32 output
# TQ1_0 0.887 -> 0.946, Q2_K 0.899 -> 0.944, Q4_0 0.910 -> 0.935, Q6_K
# 0.914 -> 0.932, IQ1_S 0.870 -> 0.920; float16 output 1-4% higher. Windows
# of 8 MB and more were slower than none (prefetched lines evicted by the
# write stream before their use, then read twice), and so were the kernels
# whose traffic is not mostly writes (F32 input: 0.964 -> 0.952 at 4 MB).
L2_PREFETCH_WINDOW = 4 << 20     # bytes of input tiles in flight ahead, at most
L2_PREFETCH_L2_SHARE = 12        # ... and at most this share of the L2 cache
L2_PREFETCH_MAX_AHEAD = 1024     # thread blocks ahead, at most


def l2_ahead(fmt, out_dtype, l2_cache_bytes: int) -> int:
    """How many thread blocks ahead each one prefetches (0: none) for
    ``fmt`` -> ``out_dtype`` on a device with that much L2 cache."""
    # by name: equal dtype objects give one cache entry; fmt is the registry's singleton
    return _l2_ahead(fmt, getattr(out_dtype, "name", str(out_dtype)), l2_cache_bytes)


@functools.lru_cache(maxsize=None)
def _l2_ahead(fmt, out_dtype_name: str, l2_cache_bytes: int) -> int:
    tile_in = tile_bytes(fmt)
    itemsize = 4 if out_dtype_name == "float32" else 2  # GPU_DTYPES
    if tile_elems(fmt) * itemsize <= tile_in:
        return 0  # reads are half the traffic or more: nothing waits behind writes
    window = min(L2_PREFETCH_WINDOW, l2_cache_bytes // L2_PREFETCH_L2_SHARE)
    return min(L2_PREFETCH_MAX_AHEAD, window // tile_in)


GPU_DTYPES = ("float32", "float16", "bfloat16")


def output_dtype(dtype):
    cp = cupy_module()
    dt = cp.dtype(cp.float32 if dtype is None else dtype)
    if dt.name not in GPU_DTYPES:
        raise ValueError(f"GPU output dtype must be one of {', '.join(GPU_DTYPES)}, got {dt}")
    return dt


def as_device_bytes(fmt, buf):
    """A flat, contiguous uint8 view of a CuPy buffer, checked against the block size."""
    cp = cupy_module()
    if buf.dtype == cp.uint8:
        raw = buf
    else:
        raise ValueError(f"{fmt.name}: expected a CuPy uint8 buffer, got {buf.dtype}")
    if not raw.flags.c_contiguous:
        raise ValueError(f"{fmt.name}: the device buffer must be contiguous")
    raw = raw.reshape(-1)
    if raw.size % fmt.type_size:
        raise ValueError(f"{fmt.name}: buffer of {raw.size} bytes is not a whole number of "
                         f"{fmt.type_size}-byte blocks ({raw.size % fmt.type_size} bytes left over)")
    return raw


def launch_dequant(fmt, raw, out_flat, stream=None, pdl=True, ahead=None):
    """Run the format's kernel: ``raw`` (uint8, whole blocks) -> ``out_flat``.
    ``pdl``: with programmatic dependent launch where usable (gpu/launch.py;
    back to back on the H200 0.5-0.8 us a launch faster, notes/h200_s12).
    ``ahead``: the L2 prefetch distance in thread blocks (None: ``l2_ahead``;
    0: none); results are the same whatever it is."""
    n_blocks = raw.size // fmt.type_size
    if n_blocks:
        dequant_launcher(fmt, out_flat.dtype)(raw.data.ptr, out_flat.data.ptr, n_blocks, stream=stream,
                                              pdl=pdl, ahead=ahead)
    return out_flat


def dequant_launcher(fmt, out_dtype):
    """``launch(src_ptr, dst_ptr, n_blocks, stream=None, pdl=False, ahead=None,
    sync_ptr=0)``: ``fmt``'s kernel into ``out_dtype`` on the current device,
    from ``n_blocks`` whole blocks at device (or device-mapped pinned) address
    ``src_ptr`` into the output at ``dst_ptr``; ``pdl`` and ``ahead`` as in
    launch_dequant; ``sync_ptr``: the in-place schedule's sync area
    (gpu/inplace.py), 0 for none. The kernel, its constant table, the grid
    limit and the prefetch distance are worked out once per format, dtype and
    device: the loader launches a kernel for every piece of every tensor from
    the thread that also hands the host copies out (H200, 2.4 GB file: 152
    launches took 9-14 ms of that thread in a 66-90 ms load when each looked
    them up again and sliced its arrays, notes/h200_s22 run 3). Whole loads
    were no faster beyond the host's run-to-run spread (run 4: medians 69-72
    against 64-82 ms, the same bits)."""
    cp = cupy_module()
    return _launcher(fmt, cp.dtype(out_dtype), cp.cuda.Device().id)


@functools.lru_cache(maxsize=None)
def _launcher(fmt, out_dtype, dev: int):
    kernel = get_function(f"dequant:{fmt.name}", fmt.source, fmt.kernel_name(out_dtype))
    table_ptr = np.uint64(device_table(fmt.name, fmt.tables).data.ptr if fmt.tables() is not None else 0)
    info = device_info(dev)
    max_grid = info.get("sm_count", 80) * BLOCKS_PER_SM
    default_ahead = np.int32(l2_ahead(fmt, out_dtype, info.get("l2_bytes", 0)))
    block_size = fmt.block_size

    def launch_blocks(src_ptr: int, dst_ptr: int, n_blocks: int, stream=None, pdl: bool = False, ahead=None,
                      sync_ptr: int = 0):
        launch(kernel, (min(tiles_of(fmt, n_blocks), max_grid),), (THREADS,),
               (np.uint64(src_ptr), np.uint64(dst_ptr), np.int64(n_blocks * block_size), table_ptr,
                default_ahead if ahead is None else np.int32(ahead), np.uint64(sync_ptr)),
               stream=stream, pdl=pdl)
    return launch_blocks


def dequant_on_gpu(fmt, buf, shape=None, dtype=None, out=None):
    cp = cupy_module()
    raw = as_device_bytes(fmt, buf)
    n_elems = raw.size // fmt.type_size * fmt.block_size
    shape = fmt._check_shape(shape, n_elems)
    if out is not None:
        if not isinstance(out, cp.ndarray):
            raise TypeError(f"{fmt.name}: out= for a device buffer must be a CuPy array")
        if dtype is not None and cp.dtype(dtype) != out.dtype:
            raise ValueError(f"{fmt.name}: dtype={cp.dtype(dtype)} disagrees with out.dtype={out.dtype}")
        output_dtype(out.dtype)
        if out.size != n_elems or not out.flags.c_contiguous:
            raise ValueError(f"{fmt.name}: out= must be C-contiguous with {n_elems} elements, "
                             f"got shape {out.shape}")
        if out.device.id != raw.device.id:
            raise ValueError(f"{fmt.name}: out= is on device {out.device.id}, the buffer on "
                             f"device {raw.device.id}")
        launch_dequant(fmt, raw, out.reshape(-1))
        return out
    with raw.device:
        result = cp.empty(n_elems, dtype=output_dtype(dtype))
        launch_dequant(fmt, raw, result)
    return result.reshape(shape)
