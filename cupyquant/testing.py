"""Test helpers (also used by the benchmarks and the demo): bit-exact comparison
against gguf-py and generators of test blocks."""

from __future__ import annotations

import numpy as np
from gguf import quants

# float16 bit patterns that stress the arithmetic: NaN (quiet and signalling
# payloads), +-Inf, subnormals, -0.0, +0.0, the largest finite value, 1.0.
SPECIAL_F16 = np.array([0x7E00, 0x7C01, 0xFE00, 0x7C00, 0xFC00, 0x0001, 0x03FF, 0x8001,
                        0x8000, 0x0000, 0x7BFF, 0xFBFF, 0x3C00, 0x0400], dtype=np.uint16)


def reference(fmt, raw: np.ndarray) -> np.ndarray:
    """gguf-py's float32 dequantization, flat."""
    with np.errstate(all="ignore"):
        return np.asarray(quants.dequantize(raw.reshape(-1, fmt.type_size), fmt.qtype),
                          dtype=np.float32).reshape(-1)


def assert_bit_exact(ours, ref, what=""):
    ours = np.asarray(ours).reshape(-1)
    ref = np.asarray(ref).reshape(-1)
    assert ours.dtype == ref.dtype, (what, ours.dtype, ref.dtype)
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    nan_o, nan_r = np.isnan(ours), np.isnan(ref)
    bad_nan = np.flatnonzero(nan_o != nan_r)
    assert bad_nan.size == 0, f"{what}: NaN positions differ at {bad_nan[:10]}"
    ubits = {2: np.uint16, 4: np.uint32}[ours.dtype.itemsize]
    ob, rb = ours.view(ubits), ref.view(ubits)
    bad = np.flatnonzero((ob != rb) & ~nan_o)
    assert bad.size == 0, (f"{what}: {bad.size} values differ, first at {bad[:5]}: "
                           f"ours {ours[bad[:5]]} ref {ref[bad[:5]]}")


def f16_field_offsets(fmt) -> list[int]:
    """Byte offsets (within a block) of every float16 field of the format."""
    offs = []
    dt = fmt.block_dtype
    for name in dt.names:
        sub, off = dt.fields[name][:2]
        base = sub.base if sub.shape else sub
        if base == np.dtype("<f2"):
            offs += [off + 2 * i for i in range(max(1, sub.itemsize // 2))]
    return offs


def make_blocks(fmt, n_blocks: int, rng: np.random.Generator, special_fraction=0.25) -> np.ndarray:
    """Random blocks; a fraction of their float16 fields (or, for the plain
    float types, of their elements) replaced by special values."""
    raw = rng.integers(0, 256, size=n_blocks * fmt.type_size, dtype=np.uint8)
    if fmt.name in ("F16", "BF16"):
        vals = raw.view(np.uint16)
        pick = rng.random(vals.size) < special_fraction
        specials = SPECIAL_F16 if fmt.name == "F16" else np.array(
            [0x7FC0, 0x7F81, 0xFFC0, 0x7F80, 0xFF80, 0x0001, 0x8001, 0x8000, 0x0000, 0x7F7F], np.uint16)
        vals[pick] = rng.choice(specials, pick.sum())
    elif fmt.name == "F32":
        vals = raw.view(np.uint32)
        pick = rng.random(vals.size) < special_fraction
        vals[pick] = rng.choice(np.array([0x7FC00000, 0x7F800001, 0xFF800000, 0x7F800000, 0x00000001,
                                          0x80000001, 0x80000000, 0, 0x7F7FFFFF], np.uint32), pick.sum())
    else:
        blocks = raw.reshape(n_blocks, fmt.type_size)
        for off in f16_field_offsets(fmt):
            pick = rng.random(n_blocks) < special_fraction
            v = rng.choice(SPECIAL_F16, pick.sum())
            blocks[pick, off] = (v & 0xFF).astype(np.uint8)
            blocks[pick, off + 1] = (v >> 8).astype(np.uint8)
    return raw


def sane_blocks(fmt, n_blocks: int, rng: np.random.Generator) -> np.ndarray:
    """Random blocks whose float16 fields are moderate finite values (for
    checks that want finite outputs, e.g. matmul or the demo)."""
    raw = rng.integers(0, 256, size=n_blocks * fmt.type_size, dtype=np.uint8)
    blocks = raw.reshape(n_blocks, fmt.type_size)
    for off in f16_field_offsets(fmt):
        v = (rng.random(n_blocks).astype(np.float32) * 0.01 + 0.001).astype(np.float16).view(np.uint16)
        blocks[:, off] = (v & 0xFF).astype(np.uint8)
        blocks[:, off + 1] = (v >> 8).astype(np.uint8)
    return raw


def write_tokenizer_sized_gguf(path, n_tokens: int = 262_144, n_blocks: int = 30) -> None:
    """A GGUF file shaped like a real model's header: ``n_tokens`` token strings
    with their scores and types, and 10 small tensors per block (300 by
    default). Used by the open-time test and benchmark."""
    from gguf import GGUFWriter, GGMLQuantizationType as T

    rng = np.random.default_rng(0)
    w = GGUFWriter(str(path), "llama")
    w.add_name("open-bench")
    w.add_context_length(8192)
    w.add_block_count(n_blocks)
    w.add_token_list([f"<tok{i}>" if i % 7 else f"\u2581w\u00f6rd{i}" for i in range(n_tokens)])
    w.add_token_scores(rng.standard_normal(n_tokens).astype(np.float32).tolist())
    w.add_token_types([int(t) for t in rng.integers(1, 6, n_tokens)])
    q = quants.quantize(rng.standard_normal((32, 64)).astype(np.float32), T.Q4_0)
    for b in range(n_blocks):
        for j in range(10):
            if j % 2:
                w.add_tensor(f"blk.{b}.t{j}.weight", q, raw_dtype=T.Q4_0)
            else:
                w.add_tensor(f"blk.{b}.t{j}.norm", rng.standard_normal(64).astype(np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
