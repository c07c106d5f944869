"""Dequantization in place (gpu/inplace.py): the layout's ordering property
(no GPU needed) and the kernels' in-place schedule against the ordinary
launch, bit for bit (skipped without a GPU)."""

import numpy as np
import pytest

from cupyquant import FORMATS
from cupyquant.gpu.dequant import tile_elems
from cupyquant.gpu.inplace import SRC_ALIGN, SyncArea, dequant_in_place, launch_in_place, layout, tiles_of
from cupyquant.testing import make_blocks

NAMES = list(FORMATS)
ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2}
BITS = {4: np.uint32, 2: np.uint16}


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", list(ITEMSIZE))
def test_layout_keeps_every_store_below_later_inputs(name, dtype):
    fmt = FORMATS[name]
    size = ITEMSIZE[dtype]
    q, o = fmt.type_size, fmt.block_size * size
    for n in (1, 2, 3, 100, 4097, 1_000_003):
        lay = layout(fmt, n, size)
        if q > o:   # F32 -> 16-bit: the input does not fit in the output
            assert lay is None
            continue
        assert lay.out_bytes == o * n
        assert lay.src_offset % SRC_ALIGN == 0
        assert lay.src_offset + q * n <= lay.alloc_bytes < lay.out_bytes + SRC_ALIGN
        i = np.arange(1, n, dtype=np.int64)
        # block i - 1's output ends at or below block i's input: a store never
        # overwrites input of a later block
        assert np.all(o * i <= lay.src_offset + q * i), (name, dtype, n)
        if q < o and n >= 100:
            # ... yet the last blocks' stores do overwrite input (the kernel's
            # schedule is needed, the property above is not vacuous)
            assert lay.out_bytes > lay.src_offset, (name, dtype, n, lay)


def test_tiles_of():
    fmt = FORMATS["Q4_0"]
    per_tile = tile_elems(fmt) // fmt.block_size
    assert tiles_of(fmt, 0) == 0
    assert tiles_of(fmt, 1) == 1
    assert tiles_of(fmt, per_tile) == 1
    assert tiles_of(fmt, per_tile + 1) == 2


# ------------------------------------------------------------------- GPU
def _ordinary_bits(cp, fmt, raw, dtype):
    out = fmt.dequant(cp.asarray(raw), dtype=dtype)
    return cp.asnumpy(out.reshape(-1).view(BITS[ITEMSIZE[dtype]]))


def _filled(cp, fmt, raw, lay):
    """The allocation of ``lay``, poisoned, with ``raw`` at its input offset."""
    buf = cp.full(lay.alloc_bytes, 0xA5, dtype=cp.uint8)
    buf[lay.src_offset:lay.src_offset + raw.size] = cp.asarray(raw)
    return buf


@pytest.mark.parametrize("name", NAMES)
def test_gpu_in_place_equals_ordinary_launch(cp, name):
    """Every format and output dtype with a layout: one launch over the whole
    tensor, and the same tensor in pieces (some cut at odd blocks, so the
    input of a piece is not 16-byte aligned) launched in order on one sync
    area, whose counters each launch must leave at 0 (and its mark advanced)
    for the next."""
    fmt = FORMATS[name]
    per_tile = tile_elems(fmt) // fmt.block_size
    n = 37 * per_tile + 3
    raw = make_blocks(fmt, n, np.random.default_rng(len(name) * 31 + 7), special_fraction=0.01)
    for dtype in ITEMSIZE:
        lay = layout(fmt, n, ITEMSIZE[dtype])
        if lay is None:
            continue
        want = _ordinary_bits(cp, fmt, raw, dtype)
        bits = BITS[ITEMSIZE[dtype]]
        got = dequant_in_place(fmt, _filled(cp, fmt, raw, lay), n, dtype)
        np.testing.assert_array_equal(cp.asnumpy(got.view(bits)), want, err_msg=f"{name} -> {dtype}")
        buf = _filled(cp, fmt, raw, lay)
        area = SyncArea(tiles_of(fmt, n))
        cuts = [0, 1, 4 * per_tile + 7, 20 * per_tile, n - 2, n]
        for a, b in zip(cuts, cuts[1:]):
            launch_in_place(fmt, cp.dtype(dtype), buf.data.ptr, lay, a, b - a, area)
        got = cp.asnumpy(buf[:lay.out_bytes].view(bits))
        np.testing.assert_array_equal(got, want, err_msg=f"{name} -> {dtype} in pieces")
        # counters back at 0, the mark advanced once a launch
        assert area.words[:3].tolist() == [0, 0, len(cuts) - 1], area.words[:3]


@pytest.mark.parametrize("name, dtype", [("Q4_0", "float16"), ("Q8_0", "float32"), ("IQ1_S", "float16"),
                                         ("Q6_K", "bfloat16"), ("F16", "float32"), ("BF16", "float16")])
def test_gpu_in_place_large_pieces_repeatedly(cp, name, dtype):
    """Pieces as large as the loader's (64 MiB of input), many thread blocks
    waiting on each other's flags, five launches on one sync area: each
    must equal the ordinary launch bit for bit (a race would show as a
    stray value in some run)."""
    fmt = FORMATS[name]
    n = (64 << 20) // fmt.type_size
    raw = make_blocks(fmt, n, np.random.default_rng(3))
    want = _ordinary_bits(cp, fmt, raw, dtype)
    lay = layout(fmt, n, ITEMSIZE[dtype])
    area = SyncArea(tiles_of(fmt, n))
    for run in range(5):
        got = dequant_in_place(fmt, _filled(cp, fmt, raw, lay), n, dtype, area=area)
        np.testing.assert_array_equal(cp.asnumpy(got.view(BITS[ITEMSIZE[dtype]])), want,
                                      err_msg=f"{name} -> {dtype} run {run}")


def test_gpu_in_place_errors(cp):
    fmt = FORMATS["Q4_0"]
    n = 3 * tile_elems(fmt) // fmt.block_size
    lay = layout(fmt, n, 2)
    buf = cp.zeros(lay.alloc_bytes, cp.uint8)
    with pytest.raises(ValueError, match="sync area holds 2"):
        dequant_in_place(fmt, buf, n, "float16", area=SyncArea(2))
    with pytest.raises(ValueError, match="outside the in-place layout"):
        launch_in_place(fmt, cp.float16, buf.data.ptr, lay, n - 1, 2, SyncArea(3))
    with pytest.raises(ValueError, match="not for float32 output"):
        launch_in_place(fmt, cp.float32, buf.data.ptr, lay, 0, n, SyncArea(3))
    with pytest.raises(ValueError, match="needs a contiguous uint8 buffer"):
        dequant_in_place(fmt, buf[:-1], n, "float16")
    with pytest.raises(ValueError, match="no in-place layout"):
        dequant_in_place(FORMATS["F32"], cp.zeros(64, cp.uint8), 16, "float16")
