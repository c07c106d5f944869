"""Every format's NumPy decoder against gguf-py, bit for bit."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cupyquant import FORMATS
from cupyquant.testing import assert_bit_exact, make_blocks, reference

NAMES = list(FORMATS)


@pytest.mark.parametrize("name", NAMES)
@given(seed=st.integers(0, 2**32 - 1), n_blocks=st.integers(1, 300),
       special=st.sampled_from([0.0, 0.1, 0.5, 1.0]))
def test_decode_float32_bit_exact(name, seed, n_blocks, special):
    fmt = FORMATS[name]
    raw = make_blocks(fmt, n_blocks, np.random.default_rng(seed), special)
    assert_bit_exact(fmt.decode(raw), reference(fmt, raw), name)


@pytest.mark.parametrize("name", NAMES)
@given(seed=st.integers(0, 2**32 - 1), n_blocks=st.integers(1, 300))
def test_decode_float16_is_rounded_float32(name, seed, n_blocks):
    fmt = FORMATS[name]
    raw = make_blocks(fmt, n_blocks, np.random.default_rng(seed))
    with np.errstate(all="ignore"):
        expected = reference(fmt, raw).astype(np.float16)
    assert_bit_exact(fmt.decode(raw, dtype=np.float16), expected, name)


@pytest.mark.parametrize("name", NAMES)
def test_all_zero_blocks(name):
    fmt = FORMATS[name]
    raw = np.zeros(7 * fmt.type_size, np.uint8)
    assert_bit_exact(fmt.decode(raw), reference(fmt, raw), name)


@pytest.mark.parametrize("name", NAMES)
def test_many_chunks_and_threads(name):
    """Large enough to be split into several chunks decoded on several threads."""
    fmt = FORMATS[name]
    n_blocks = (3 << 17) // fmt.block_size + 3
    raw = make_blocks(fmt, n_blocks, np.random.default_rng(7))
    assert_bit_exact(fmt.decode(raw), reference(fmt, raw), name)


@pytest.mark.parametrize("name", NAMES)
def test_input_kinds_agree(name):
    fmt = FORMATS[name]
    raw = make_blocks(fmt, 5, np.random.default_rng(3))
    ref = fmt.decode(raw)
    for kind in (raw.tobytes(), memoryview(raw.tobytes()), bytearray(raw.tobytes()),
                 raw.view(fmt.block_dtype)):
        assert_bit_exact(fmt.decode(kind), ref, f"{name} {type(kind).__name__}")
    assert_bit_exact(fmt.dequant(raw, shape=(5, fmt.block_size)).reshape(-1), ref, name)
