"""Kernel source of the fused Q4_0 matmul (cupyquant/hip/q4_0_*.hip) and its kernel names.

The source is assembled like a format's dequantization source: the shared
header ``common.h``, the matmul helpers ``q4_0_mm_common.hip``, then the kernel
files (the tensor-core matrix-vector kernels, the other kernels with every
instantiation, the int8 matrix-vector kernels), one text that hiprtc and
NVRTC both compile (no ``#include``). The
wgmma kernels (``q4_0_matmul_sm90.hip``) are a second module, compiled for
NVIDIA's architecture-specific target sm_90a (the only one with wgmma).
``matmul_sources()`` lists both for ``python -m cupyquant.offline_compile``
(CI compiles them for gfx90a, gfx1030 and sm_90 without a GPU, and the second
also for sm_90a).
"""

from __future__ import annotations

import numpy as np

from .hip import read_source

#: Helpers (Q4_0 layout, staging copies, tensor-core helpers) of every matmul kernel file.
COMMON_FILE = "q4_0_mm_common.hip"
#: The tensor-core matrix-vector kernels (their functions and kernel macros),
#: then the portable and matrix-matrix kernels, which instantiate all of them.
SOURCE_FILE_MV_TC = "q4_0_matvec_tc.hip"
SOURCE_FILE = "q4_0_matmul.hip"
#: The int8 tensor-core matrix-vector kernels, appended after SOURCE_FILE.
SOURCE_FILE_INT8 = "q4_0_matvec_int8.hip"
MODULE_KEY = "matmul:Q4_0"
#: The wgmma module: its file, key and the compile option that selects sm_90a
#: (CuPy appends its own -arch for the device; NVRTC then compiles for sm_90a,
#: which the host verifies with the module's cq_q4_0_sm90a_compiled kernel).
SM90_SOURCE_FILE = "q4_0_matmul_sm90.hip"
SM90_MODULE_KEY = "matmul:Q4_0:sm90a"
SM90_OPTIONS = ("-arch=sm_90a",)
SM90_PROBE_NAME = "cq_q4_0_sm90a_compiled"
#: wgmma matrix-matrix: activation rows a thread block (the wgmma N), stages,
#: weight rows a thread block (CQ_WG_STAGES, CQ_WG_ROWS).
WGMMA_WIDTHS = (64, 128, 256)
WGMMA_STAGES = 4
#: ... for 64-row thread blocks (CQ_WG_STAGES_N64).
WGMMA_STAGES_N64 = 6
WGMMA_ROWS = 128
#: ... or 64 weight rows for these widths: one warpgroup (the _r64 kernels) or
#: two taking turns over K (_r64x2, TMA only, WGMMA_STAGES_K2 x slots).
WGMMA_R64_WIDTHS = (256,)
WGMMA_STAGES_K2 = 6
#: Bytes of a weight row a TMA box of the wgmma _tma_ kernels copies: four
#: stages of K (8 Q4_0 blocks), the kernels' ROWS * 144 expect_tx.
WGMMA_W_BOX_BYTES = 144

#: Threads per thread block of every matmul kernel (CQ_MM_THREADS).
THREADS = 256
#: Tensor-core matrix-vector B columns a float32 activation row: its two
#: scaled float16 parts (P in cq_mv_tc for XF32; float16 x: one).
MV_F32_PARTS = 2
#: Matrix-vector (tensor cores): the compiled geometries (rows per thread
#: block, Q4_0 blocks per row and stage, pipeline stages); CQ_MV_TC_GEOM lines
#: at the end of q4_0_matmul.hip.
MV_GEOMETRIES = ((16, 64, 3), (16, 64, 2))
#: One more geometry, compiled only for two kernels: float16 x with one column
#: tile reading x from global memory (a smaller stage ring leaves the L1 cache
#: room for up to 8 activation rows) and float32 x_shared (whose records take
#: 3x the shared memory of float16 x).
MV_GEOMETRY_SMALL = (16, 32, 3)
#: The one geometry of the x_shared kernels for grids with a queue (float16
#: and float32 x, "_xsq"; CQ_MV_TC_KERNEL_XQ in q4_0_matvec_tc.hip).
MV_QUEUE_GEOMETRY = (16, 64, 2)
#: The one geometry of the x_shared kernels for one float16 activation row
#: ("_xs1" and "_xsq1"; CQ_MV_TC_KERNEL_XS1 in q4_0_matvec_tc.hip).
MV_ONE_ROW_GEOMETRY = (16, 64, 2)
#: The queue kernels of several rows ("_xsq", float16 "_xsqc") are also
#: compiled with registers for only this many thread blocks an SM ("b2",
#: "b3": CQ_MV_TC_KERNEL_XSB in q4_0_matvec_tc.hip; qmatmul.mv_plan.MV_XS_QUEUE_REG_BOUND) ...
MV_QUEUE_REG_BOUNDS = (2, 3)
#: ... and the float32 x_shared kernel without a queue ("_xs") for this many
#: (float32 x, M = 2 at K = 4096; qmatmul.mv_plan.MV_XS_UNQUEUED_REG_BOUND).
MV_F32_REG_BOUNDS = (3,)
#: The one geometry of the kernels that copy float16 x (2-8 rows) into a ring
#: of their own beside the weight stages ("_xr"; CQ_MV_TC_KERNEL_XR in
#: q4_0_matvec_tc.hip): 64 weight rows a thread block, so that each x stage
#: copied serves four 16-row tiles.
MV_X_RING_GEOMETRY = (64, 32, 2)
#: Matrix-vector on int8 tensor cores (q4_0_matvec_int8.hip): the compiled
#: geometries (Q4_0 blocks per row and stage, stages of each warp's ring);
#: CQ_MVI8_GEOM lines at the end of that file. One warp a 16-row tile.
MVI8_GEOMETRIES = ((8, 3),)
#: Rows of one warp's tile and n8 column tiles (two activation rows each) per kernel.
MVI8_ROWS = 16
MVI8_MAX_M = 8
#: Matrix-matrix (tensor cores): thread-block tile and dynamic shared memory.
MM_TC_TILE = (128, 128)
MM_TC_SMEM = 4 * 128 * 64 + 2 * 128 * 8 * 18  # CQ_MM_SMEM
#: Matrix-matrix (portable): thread-block tile.
MM_GEN_TILE = (64, 64)

_OUT_SUFFIX = {"float32": "f32", "float16": "f16", "bfloat16": "bf16"}
_X_SUFFIX = {"float32": "f32", "float16": "f16"}


#: Extra instantiation lines appended to the source (experiments only).
EXTRA_INSTANTIATIONS = ""


def matmul_source() -> str:
    """The exact text handed to ``cupy.RawModule`` for the matmul kernels."""
    return "\n".join([read_source("common.h"), read_source(COMMON_FILE), read_source(SOURCE_FILE_MV_TC),
                      read_source(SOURCE_FILE), read_source(SOURCE_FILE_INT8), EXTRA_INSTANTIATIONS, ""])


def matmul_sm90_source() -> str:
    """The exact text handed to ``cupy.RawModule`` for the wgmma kernels."""
    return "\n".join([read_source("common.h"), read_source(COMMON_FILE), read_source(SM90_SOURCE_FILE), ""])


def matmul_sources() -> dict[str, str]:
    """Label -> source, for the offline compile check."""
    return {"matmul Q4_0": matmul_source(), "matmul Q4_0 sm90a": matmul_sm90_source()}


#: Extra offline-compile targets of a source (label -> targets).
EXTRA_TARGETS = {"matmul Q4_0 sm90a": ("sm_90a",)}


def wgmma_name(out_dtype, width: int, tma: bool = False, rows: int = WGMMA_ROWS, warpgroups: int = 2) -> str:
    """The wgmma kernel for ``width`` activation rows, ``rows`` weight rows and
    ``warpgroups`` warpgroups a thread block (128 rows: 2; 64 rows: 1, or 2
    taking turns over K); ``tma``: the variant that copies x and the weights
    through TMA tensor maps (its first two arguments)."""
    suffix = "" if rows == WGMMA_ROWS else f"_r{rows}" + ("x2" if warpgroups == 2 else "")
    return f"cq_q4_0_mm_wgmma_{'tma_' if tma else ''}{out_suffix(out_dtype)}_n{width}{suffix}"


def wgmma_threads(warpgroups: int = 2) -> int:
    """Threads of a wgmma thread block: 128 a warpgroup."""
    return 128 * warpgroups


def wgmma_smem_bytes(width: int, rows: int = WGMMA_ROWS, warpgroups: int = 2) -> int:
    """Dynamic shared memory of a wgmma kernel (CQ_WG_SMEM): the x stages, two
    weight slots of 144 bytes a row, 1024 bytes to align the x tiles."""
    turns = warpgroups * 64 // rows  # CQ_WG_KW
    stages = WGMMA_STAGES_K2 if turns == 2 else WGMMA_STAGES_N64 if width == 64 else WGMMA_STAGES
    return stages * width * 128 + 2 * rows * 144 + 1024


def wgmma_blocks_per_sm(width: int, rows: int = WGMMA_ROWS) -> int:
    """Thread blocks of a wgmma kernel an SM (its launch bounds,
    CQ_MM_WGMMA_BLOCKS): two of 64 or 128 activation rows and 128 weight rows,
    else one."""
    return 2 if width <= 128 and rows == WGMMA_ROWS else 1


def wgmma_x_box_rows(m: int, width: int) -> int:
    """Rows of the TMA box of x for the wgmma _tma_ kernels (their xbox_bytes /
    128): the width, or M rounded up to 8 where M is below it."""
    return min(width, -(-m // 8) * 8)


def all_wgmma_kernel_names() -> list[str]:
    return [wgmma_name(o, w, t) for o in _OUT_SUFFIX for w in WGMMA_WIDTHS for t in (False, True)] + \
        [wgmma_name(o, w, t, 64, 1) for o in _OUT_SUFFIX for w in WGMMA_R64_WIDTHS for t in (False, True)] + \
        [wgmma_name(o, w, True, 64, 2) for o in _OUT_SUFFIX for w in WGMMA_R64_WIDTHS] + \
        [SM90_PROBE_NAME]


def _mv_row_bytes(kb: int) -> int:
    """Shared row stride of a stage (CQ_MV_SR): kb blocks, padded."""
    return kb * 18 + (16 if (kb // 8) % 2 == 0 else 0)


def mv_smem_bytes(rows: int, kb: int, stages: int) -> int:
    """Dynamic shared memory of a tensor-core matrix-vector geometry (CQ_MV_SMEM)."""
    return stages * rows * _mv_row_bytes(kb)


def mv_x_shared_offset(rows: int, kb: int, stages: int) -> int:
    """Where an x_shared kernel's activation records start in its dynamic
    shared memory (CQ_MV_XS_OFFSET): over the last row's padding."""
    return mv_smem_bytes(rows, kb, stages) - (_mv_row_bytes(kb) - kb * 18)


def mvi8_smem_bytes(kb: int, stages: int) -> int:
    """Dynamic shared memory of one int8 matrix-vector thread block (CQ_I8_SMEM):
    8 warps, each a ring of ``stages`` x 16 rows x ``kb`` blocks."""
    return (THREADS // 32) * stages * MVI8_ROWS * _mv_row_bytes(kb)


_dtype_names: dict = {}


def dtype_name(dt) -> str:
    """``numpy.dtype(dt).name`` of a NumPy / CuPy dtype or scalar type (a
    name is returned as it is: "bfloat16" needs no NumPy dtype), remembered:
    NumPy computes the name in Python (several microseconds), and every
    matmul call asks for it (the kernels' names and the path rules)."""
    name = _dtype_names.get(dt)
    if name is None:
        name = _dtype_names[dt] = dt if isinstance(dt, str) else np.dtype(dt).name
    return name


def out_suffix(dtype) -> str:
    """The kernel-name suffix of an output dtype."""
    return _OUT_SUFFIX[dtype_name(dtype)]


def mv_tc_name(x_dtype, out_dtype, n_tiles: int, geometry=MV_GEOMETRIES[0], x_shared: bool = False,
               queue: bool = False, one_row: bool = False, x_ring: bool = False, copy_fill: bool = False,
               reg_bound: int | None = None) -> str:
    """Tensor-core matrix-vector kernel; ``n_tiles`` 8-column B tiles (1-2 for
    float16 x, 1-2 for float32 x); geometry (rows, blocks per stage, stages);
    ``x_shared``: the variant that first copies its activations into shared
    memory in the B-fragment order (one column tile; float32 x split there
    into its two scaled float16 parts, no separate kernel; extra dynamic shared memory
    mv_x_shared_bytes); ``queue``: its variant for grids with fewer thread
    blocks than tiles (MV_QUEUE_GEOMETRY), whose thread blocks
    copy their next tile's first stage during this tile's last; ``one_row``:
    the x_shared kernel for one float16 activation row (MV_ONE_ROW_GEOMETRY),
    which keeps only the accumulators of the one B column used; ``x_ring``:
    the kernel that copies each stage's float16 x into a ring of its own
    (MV_X_RING_GEOMETRY; extra dynamic shared memory mv_x_ring_bytes);
    ``copy_fill``: a queue kernel's build that copies x into its records with
    cp.async (one row: a stage at a time, beside that stage's weights; more
    rows: the whole split at once); ``reg_bound``: the build with registers
    for that many thread blocks an SM of an x_shared kernel of
    MV_GEOMETRIES[1] (mv_reg_bounds); None: CQ_MV_MIN_BLOCKS."""
    x = _X_SUFFIX[dtype_name(x_dtype)]
    rt, kb, st = geometry
    if copy_fill and not (x_shared and queue):
        raise ValueError("copy_fill: queue kernels only")
    if reg_bound is not None and not (x_shared and reg_bound in mv_reg_bounds(x_dtype, geometry, queue, one_row)):
        raise ValueError(f"reg_bound {reg_bound}: {MV_QUEUE_REG_BOUNDS} for the x_shared queue kernels of "
                         f"{MV_GEOMETRIES[1]} and several rows, {MV_F32_REG_BOUNDS} for the one without a "
                         f"queue and float32 x")
    suffix = ("_xsq" if queue else "_xs") + ("1" if one_row else "") + ("c" if copy_fill else "") + \
        (f"b{reg_bound}" if reg_bound else "") if x_shared else "_xr" if x_ring else ""
    return f"cq_q4_0_mv_tc_{x}_{out_suffix(out_dtype)}_n{n_tiles}_r{rt}_k{kb}_s{st}" + suffix


def mv_reg_bounds(x_dtype, geometry, queue: bool, one_row: bool = False) -> tuple:
    """The register bounds (thread blocks an SM) an x_shared kernel is also
    compiled for (mv_tc_name's ``reg_bound``): only kernels of MV_GEOMETRIES[1]
    have any."""
    x = _X_SUFFIX[dtype_name(x_dtype)]
    if one_row or tuple(geometry) != MV_GEOMETRIES[1]:
        return ()
    if queue:
        return MV_QUEUE_REG_BOUNDS
    return MV_F32_REG_BOUNDS if x == "f32" else ()


def mv_x_shared_bytes(columns: int, blocks: int) -> int:
    """Shared memory of the activations in an x_shared kernel: one 64-byte
    record a (Q4_0 block of K, B column); columns = activation rows (float16
    x) or 2 x rows (float32 x)."""
    return 64 * columns * blocks


def mv_x_ring_bytes(m: int, kb: int, stages: int) -> int:
    """Shared memory of the "_xr" kernels' x stages (after the weight
    stages): ``m`` float16 rows of ``kb`` blocks a stage, rows padded by 32
    bytes (XRS in cq_mv_tc)."""
    return stages * m * (kb * 64 + 32)


def mv_cluster_sum_bytes(rows: int, m: int, splits: int) -> int:
    """Shared memory a tensor-core matrix-vector thread block needs beyond
    its ring (and records) when its grid runs as clusters of ``splits`` K
    splits (CQ_MV_CLUSTER): split 0 receives every split's float32 sums of
    ``rows`` x ``m`` outputs."""
    return 4 * rows * m * splits


def mv_gen_name(x_dtype, out_dtype) -> str:
    x = _X_SUFFIX[dtype_name(x_dtype)]
    return f"cq_q4_0_mv_gen_{x}_{out_suffix(out_dtype)}"


def mm_tc_name(out_dtype) -> str:
    return f"cq_q4_0_mm_tc_{out_suffix(out_dtype)}"


def mm_gen_name(out_dtype) -> str:
    return f"cq_q4_0_mm_gen_{out_suffix(out_dtype)}"


XPREP_NAME = "cq_q4_0_xprep_f16x2"


def mvi8_name(out_dtype, n_tiles: int, geometry=MVI8_GEOMETRIES[0]) -> str:
    """Int8 tensor-core matrix-vector kernel: ``n_tiles`` = ceil(M / 2) (1-4)
    n8 column tiles; geometry (blocks per stage, stages)."""
    kb, st = geometry
    return f"cq_q4_0_mvi8_{out_suffix(out_dtype)}_n{n_tiles}_k{kb}_s{st}"


def xprep_i8_name(x_dtype) -> str:
    """Activations -> the int8 kernel's records (per-block fixed point limbs)."""
    return f"cq_q4_0_xprep_i8_{_X_SUFFIX[dtype_name(x_dtype)]}"


def all_kernel_names() -> list[str]:
    names = [XPREP_NAME, xprep_i8_name("float16"), xprep_i8_name("float32")]
    for o in _OUT_SUFFIX:
        for geo in MV_GEOMETRIES:
            names += [mv_tc_name("float16", o, n, geo) for n in (1, 2)]
            names.append(mv_tc_name("float16", o, 1, geo, x_shared=True))
            names += [mv_tc_name("float32", o, n, geo) for n in (1, 2)]
            names.append(mv_tc_name("float32", o, 1, geo, x_shared=True))
        names += [mv_tc_name("float16", o, 1, MV_QUEUE_GEOMETRY, x_shared=True, queue=True, copy_fill=c, reg_bound=b)
                  for c in (False, True) for b in (None,) + MV_QUEUE_REG_BOUNDS]
        names += [mv_tc_name("float16", o, 1, MV_ONE_ROW_GEOMETRY, x_shared=True, queue=q, one_row=True,
                             copy_fill=c) for q, c in ((False, False), (True, False), (True, True))]
        names += [mv_tc_name("float32", o, 1, MV_GEOMETRIES[1], x_shared=True, reg_bound=b) for b in MV_F32_REG_BOUNDS]
        names += [mv_tc_name("float32", o, 1, MV_QUEUE_GEOMETRY, x_shared=True, queue=True, reg_bound=b)
                  for b in (None,) + MV_QUEUE_REG_BOUNDS]
        names.append(mv_tc_name("float16", o, 1, MV_GEOMETRY_SMALL))
        names.append(mv_tc_name("float32", o, 1, MV_GEOMETRY_SMALL, x_shared=True))
        names.append(mv_tc_name("float16", o, 1, MV_X_RING_GEOMETRY, x_ring=True))
        for geo in MVI8_GEOMETRIES:
            names += [mvi8_name(o, n, geo) for n in range(1, MVI8_MAX_M // 2 + 1)]
        names += [mv_gen_name("float16", o), mv_gen_name("float32", o), mm_tc_name(o), mm_gen_name(o)]
    return names
