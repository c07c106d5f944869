"""GPU dequantization against the NumPy decoder, bit for bit (skipped without a GPU)."""

import numpy as np
import pytest

from cupyquant import FORMATS
from cupyquant.testing import assert_bit_exact, bf16_bits, make_blocks

NAMES = list(FORMATS)
# A finite sentinel no decoder produces by chance: an element the kernel did
# not write keeps it and fails the bit comparison.
POISON = {"float32": np.float32(-1.2345e-31), "float16": np.float16(-0.0001234),
          "bfloat16": None}


def _run(cp, fmt, raw, dtype, offset=0):
    dev = cp.zeros(raw.size + offset, cp.uint8)
    dev[offset:] = cp.asarray(raw)
    buf = dev[offset:]
    n = raw.size // fmt.type_size * fmt.block_size
    out = cp.empty(n, dtype=cp.dtype(dtype))
    if POISON[dtype] is not None:
        out.fill(POISON[dtype])
    else:
        out.view(cp.uint16).fill(0x7F7F)
    res = fmt.dequant(buf, dtype=dtype, out=out)
    assert res is out
    return cp.asnumpy(out)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n_blocks", [1, 3, 257, 5000])
def test_gpu_matches_numpy_float32_float16(cp, name, n_blocks):
    fmt = FORMATS[name]
    rng = np.random.default_rng(n_blocks * 7919 + len(name))
    n_blocks = n_blocks * (8 if fmt.block_size == 1 else 1) + (5 if fmt.block_size == 1 else 0)
    raw = make_blocks(fmt, n_blocks, rng)
    ref32 = fmt.decode(raw)
    assert_bit_exact(_run(cp, fmt, raw, "float32"), ref32, f"{name} f32")
    with np.errstate(all="ignore"):
        ref16 = ref32.astype(np.float16)
    assert_bit_exact(_run(cp, fmt, raw, "float16"), ref16, f"{name} f16")


@pytest.mark.parametrize("name", NAMES)
def test_gpu_bfloat16(cp, name):
    fmt = FORMATS[name]
    raw = make_blocks(fmt, 300, np.random.default_rng(5))
    got = _run(cp, fmt, raw, "bfloat16").view(np.uint16)
    ref = bf16_bits(fmt.decode(raw))
    nan_ref = (ref & 0x7FFF) > 0x7F80
    nan_got = (got & 0x7FFF) > 0x7F80
    assert np.array_equal(nan_ref, nan_got)
    assert np.array_equal(got[~nan_ref], ref[~nan_ref])


@pytest.mark.parametrize("name", NAMES)
def test_gpu_unaligned_input_and_output(cp, name):
    """A buffer starting at an odd address takes the byte-wise staging path;
    an output at an odd element offset takes the scalar store path."""
    fmt = FORMATS[name]
    n_blocks = 700 * (8 if fmt.block_size == 1 else 1)
    raw = make_blocks(fmt, n_blocks, np.random.default_rng(11))
    ref = fmt.decode(raw)
    assert_bit_exact(_run(cp, fmt, raw, "float32", offset=3), ref, f"{name} src+3")
    base = cp.full(ref.size + 1, np.float32(7.0))
    fmt.dequant(cp.asarray(raw), out=base[1:])
    assert float(base[0]) == 7.0
    assert_bit_exact(cp.asnumpy(base[1:]), ref, f"{name} dst+1")


@pytest.mark.parametrize("name", ["Q4_0", "Q8_0", "Q4_K", "Q6_K", "IQ2_XS", "IQ4_XS", "F16", "MXFP4"])
def test_gpu_tens_of_millions(cp, name):
    fmt = FORMATS[name]
    n_blocks = (40_000_000 // fmt.block_size) + 1
    raw = make_blocks(fmt, n_blocks, np.random.default_rng(2), special_fraction=0.01)
    got = cp.asnumpy(fmt.dequant(cp.asarray(raw), dtype="float16"))
    with np.errstate(all="ignore"):
        assert_bit_exact(got, fmt.decode(raw, dtype=np.float16), name)


def test_l2_prefetch_distance():
    """The host's choice of the L2 prefetch distance (no GPU needed): none
    where reads are half the traffic or more, else as many thread blocks as
    fit the byte window, bounded by the L2 size and a maximum."""
    from cupyquant.gpu.dequant import (L2_PREFETCH_L2_SHARE, L2_PREFETCH_MAX_AHEAD, L2_PREFETCH_WINDOW,
                                       l2_ahead, tile_bytes)
    l2 = 50 << 20
    assert l2_ahead(FORMATS["F32"], "float32", l2) == 0
    assert l2_ahead(FORMATS["F32"], "float16", l2) == 0
    assert l2_ahead(FORMATS["F16"], "float16", l2) == 0
    assert l2_ahead(FORMATS["F16"], "float32", l2) == L2_PREFETCH_WINDOW // tile_bytes(FORMATS["F16"])
    assert l2_ahead(FORMATS["TQ1_0"], "float32", l2) == L2_PREFETCH_MAX_AHEAD
    for name, fmt in FORMATS.items():
        if fmt.block_size == 1:
            continue
        for dt in ("float32", "float16", "bfloat16"):
            a = l2_ahead(fmt, dt, l2)
            assert 0 < a <= L2_PREFETCH_MAX_AHEAD, name
            assert a * tile_bytes(fmt) <= L2_PREFETCH_WINDOW, name
            assert a == L2_PREFETCH_MAX_AHEAD or (a + 1) * tile_bytes(fmt) > L2_PREFETCH_WINDOW, name
        small = l2_ahead(fmt, "float16", 6 << 20)
        assert small * tile_bytes(fmt) <= (6 << 20) // L2_PREFETCH_L2_SHARE, name
        assert l2_ahead(fmt, "float16", 0) == 0  # L2 size unknown: no prefetch


@pytest.mark.parametrize("name", ["TQ1_0", "Q4_0", "Q6_K", "IQ2_XXS", "F16"])
def test_gpu_l2_prefetch_distance_does_not_change_results(cp, name):
    """Whatever the prefetch distance (none, one thread block, past the grid,
    the automatic one), from aligned and unaligned buffers, the output is the
    NumPy decoder's bit for bit: the prefetch is only a hint."""
    from cupyquant.gpu.dequant import launch_dequant, tile_elems
    fmt = FORMATS[name]
    n_blocks = 300 * tile_elems(fmt) // fmt.block_size + 3  # 300 full tiles and a partial one
    raw = make_blocks(fmt, n_blocks, np.random.default_rng(17))
    ref = fmt.decode(raw)
    for offset in (0, 3):
        dev = cp.zeros(raw.size + offset, cp.uint8)
        dev[offset:] = cp.asarray(raw)
        for ahead in (0, 1, 7, 299, 301, None, 1 << 30):
            out = cp.full(ref.size, POISON["float32"])
            launch_dequant(fmt, dev[offset:], out, ahead=ahead)
            assert_bit_exact(cp.asnumpy(out), ref, f"{name} offset {offset} ahead {ahead}")


def test_gpu_shape_dtype_and_errors(cp):
    fmt = FORMATS["Q4_0"]
    raw = cp.asarray(make_blocks(fmt, 8, np.random.default_rng(0)))
    y = fmt.dequant(raw, shape=(2, 128), dtype="float16")
    assert isinstance(y, cp.ndarray) and y.shape == (2, 128) and y.dtype == cp.float16
    assert fmt.dequant(raw).dtype == cp.float32
    with pytest.raises(ValueError, match="not a whole number"):
        fmt.dequant(raw[:-1])
    with pytest.raises(ValueError, match="shape"):
        fmt.dequant(raw, shape=(3, 100))
    with pytest.raises(ValueError, match="dtype"):
        fmt.dequant(raw, dtype="int32")
    with pytest.raises(ValueError, match="uint8"):
        fmt.dequant(cp.zeros(10, cp.float32))
    with pytest.raises(ValueError, match="elements"):
        fmt.dequant(raw, out=cp.empty(100, cp.float32))
    assert fmt.dequant(raw[:0]).size == 0


def test_gpu_more_than_2_31_elements(cp):
    """Q4_0 with 2^31 + 4096 elements: 64-bit indexing reaches the last ones."""
    fmt = FORMATS["Q4_0"]
    n_elems = (1 << 31) + 4096
    n_blocks = n_elems // 32
    need = n_blocks * 18 + n_elems * 2
    free = cp.cuda.runtime.memGetInfo()[0]
    if free < need * 1.2:
        pytest.skip(f"needs {need / 2**30:.1f} GiB of free device memory")
    raw = cp.zeros(n_blocks * 18, cp.uint8)
    rng = np.random.default_rng(31)
    head = make_blocks(fmt, 1000, rng, special_fraction=0.0)
    tail = make_blocks(fmt, 50, rng, special_fraction=0.0)
    mid_block = (1 << 31) // 32 - 400  # 450 blocks straddling element 2^31
    mid = make_blocks(fmt, 450, rng, special_fraction=0.0)
    raw[:head.size] = cp.asarray(head)
    raw[-tail.size:] = cp.asarray(tail)
    raw[mid_block * 18:(mid_block + 450) * 18] = cp.asarray(mid)
    out = cp.empty(n_elems, cp.float16)
    out.fill(np.float16(-0.0001234))
    fmt.dequant(raw, out=out)
    poison_in_random = 0
    for blocks, start in ((head, 0), (mid, mid_block * 32), (tail, n_elems - 50 * 32)):
        got = cp.asnumpy(out[start:start + blocks.size // 18 * 32])
        expected = fmt.decode(blocks, dtype=np.float16)
        assert_bit_exact(got, expected, f"at {start}")
        poison_in_random += int(np.count_nonzero(expected == np.float16(-0.0001234)))
    # every element written: the all-zero blocks decode to +-0.0, never the poison
    assert int(cp.count_nonzero(out == np.float16(-0.0001234))) == poison_in_random
    del raw, out
    cp.get_default_memory_pool().free_all_blocks()


def test_kernel_module_is_cached(cp):
    from cupyquant.gpu import modules
    fmt = FORMATS["Q8_0"]
    raw = cp.asarray(make_blocks(fmt, 4, np.random.default_rng(0)))
    fmt.dequant(raw)
    n = len(modules._modules)
    fmt.dequant(raw, dtype="float16")
    assert len(modules._modules) == n


def test_kernel_lookup_builds_the_source_only_once(monkeypatch):
    """get_function takes the module's source as a function too, called only
    when the kernel is not cached yet (matmul looks kernels up every call).
    Runs without a GPU: the device query and the module are stand-ins."""
    import types

    from cupyquant.gpu import modules
    fake_cp = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDevice=lambda: 0)))
    monkeypatch.setattr(modules, "cupy_module", lambda: fake_cp)
    monkeypatch.setattr(modules, "_functions", {})
    built, compiled = [], []

    def get_module(key, source, options):
        compiled.append(source)
        return types.SimpleNamespace(get_function=lambda name: (key, name))

    monkeypatch.setattr(modules, "get_module", get_module)

    def source():
        built.append(1)
        return "the source"

    for _ in range(3):
        assert modules.get_function("k", source, "kern_a") == ("k", "kern_a")
    assert modules.get_function("k", source, "kern_b") == ("k", "kern_b")
    assert modules.get_function("k", "plain text", "kern_c") == ("k", "kern_c")
    assert len(built) == 2 and compiled == ["the source", "the source", "plain text"]
