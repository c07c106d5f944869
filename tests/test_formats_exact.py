"""Every format's NumPy decoder against gguf-py, bit for bit."""

import numpy as np
import pytest
from hypothesis import given, strategies as st

from cupyquant import FORMATS
from cupyquant.testing import assert_bit_exact, assert_dequant_into, make_blocks, reference

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


# Formats whose values are bit patterns passed through (or widened), not
# computed: their NaNs keep sign and payload, as in gguf's reference.
PASS_THROUGH = ("F32", "F16", "BF16")


@pytest.mark.parametrize("name", PASS_THROUGH)
def test_nan_payloads_pass_through(name):
    fmt = FORMATS[name]
    bits = {"F32": np.array([0x7F800001, 0xFFC00123, 0x7FBFFFFF, 0x7FC00000, 0xFF800000, 1], np.uint32),
            "F16": np.array([0x7C01, 0xFE23, 0x7DFF, 0x7E00, 0xFC00, 1], np.uint16),
            "BF16": np.array([0x7F81, 0xFFC3, 0x7FBF, 0x7FC0, 0xFF80, 1], np.uint16)}[name]
    raw = bits.view(np.uint8)
    with np.errstate(all="ignore"):
        assert_bit_exact(fmt.decode(raw), reference(fmt, raw), name, nan_bits=True)
        assert_bit_exact(fmt.decode(raw, dtype=np.float16), reference(fmt, raw).astype(np.float16), name,
                         nan_bits=True)


@pytest.mark.parametrize("name", NAMES)
def test_all_zero_blocks(name):
    fmt = FORMATS[name]
    raw = np.zeros(7 * fmt.type_size, np.uint8)
    assert_bit_exact(fmt.decode(raw), reference(fmt, raw), name)


@pytest.mark.parametrize("name", NAMES)
def test_many_chunks_and_threads(name, monkeypatch):
    """Large enough to be split into several chunks decoded on several threads
    (the last chunk a short one). HOST_THREADS is 1 below 4 cores, which would
    leave the thread pool untested: the test sets 4 threads (and fresh pools)
    whatever the machine, and checks that the pool was used."""
    from cupyquant import thread_pools
    from cupyquant.formats import base
    monkeypatch.setattr(base, "HOST_THREADS", 4)
    monkeypatch.setattr(thread_pools, "_pools", {})
    pools = []
    real_host_pool = base._host_pool

    def spy():
        pools.append(real_host_pool())
        return pools[-1]

    monkeypatch.setattr(base, "_host_pool", spy)
    fmt = FORMATS[name]
    n_blocks = (3 << 17) // fmt.block_size + 3
    assert n_blocks > 2 * max(1, base.HOST_CHUNK_ELEMS // fmt.block_size)  # several chunks
    raw = make_blocks(fmt, n_blocks, np.random.default_rng(7))
    try:
        assert_bit_exact(fmt.decode(raw), reference(fmt, raw), name)
        for dtype in (np.float32, np.float16):   # into out=, every value written
            assert_dequant_into(fmt, raw, (n_blocks * fmt.block_size,), dtype)
        assert pools and pools[0]._max_workers == 4, "the thread pool was not used"
    finally:
        for pool in {id(p): p for p in pools}.values():
            pool.shutdown(wait=True)


@pytest.mark.parametrize("name", NAMES)
def test_input_kinds_agree(name):
    fmt = FORMATS[name]
    raw = make_blocks(fmt, 5, np.random.default_rng(3))
    ref = fmt.decode(raw)
    for kind in (raw.tobytes(), memoryview(raw.tobytes()), bytearray(raw.tobytes()),
                 raw.view(fmt.block_dtype)):
        assert_bit_exact(fmt.decode(kind), ref, f"{name} {type(kind).__name__}")
    assert_bit_exact(fmt.dequant(raw, shape=(5, fmt.block_size)).reshape(-1), ref, name)


def test_shared_pool_follows_the_thread_count(monkeypatch):
    """One pool a purpose, the same while the thread count stays, a new one
    (the old one shut down) when it changes; purposes do not share."""
    from cupyquant import thread_pools
    monkeypatch.setattr(thread_pools, "_pools", {})
    first = thread_pools.shared_pool("decode", 2)
    try:
        assert thread_pools.shared_pool("decode", 2) is first
        assert first.submit(lambda: 7).result() == 7
        other = thread_pools.shared_pool("load", 2)
        assert other is not first
        second = thread_pools.shared_pool("decode", 3)
        assert second is not first and second._max_workers == 3
        with pytest.raises(RuntimeError):   # shut down
            first.submit(lambda: 7)
    finally:
        for pool in thread_pools._pools.values():
            pool.shutdown(wait=True)
