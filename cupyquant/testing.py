"""Test helpers (also used by the benchmarks and the demo): bit-exact comparison
against gguf-py and generators of test blocks."""

from __future__ import annotations

import os
import subprocess
import sys

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


def bf16_bits(f32: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns (uint16), round to nearest-even, NaN
    kept NaN (quiet, its upper bits): what the GPU's conversion must give."""
    u = np.asarray(f32, dtype=np.float32).view(np.uint32).astype(np.uint64)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    r[nan] = ((u[nan] >> 16) | 0x40).astype(np.uint16)
    return r


def in_ci() -> bool:
    """True under CI (the CI environment variable set, not to "", "0",
    "false" or "no"): .ci/run sets it."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail_in_ci(reason: str) -> None:
    """Skip the calling test for a missing tool (a compiler, a library), but
    fail it under CI, whose setup installs every such tool: a missing one
    there is a broken CI, not a reason to pass."""
    import pytest
    if in_ci():
        pytest.fail(f"CI: {reason}", pytrace=False)
    pytest.skip(reason)


def assert_bit_exact(ours, ref, what="", nan_bits: bool = False):
    """Every bit equal where ``ref`` is not NaN, NaN in the same places;
    ``nan_bits``: the NaNs' bits (sign, payload) equal too, for values that
    the reference passes through rather than computes."""
    ours = np.asarray(ours).reshape(-1)
    ref = np.asarray(ref).reshape(-1)
    assert ours.dtype == ref.dtype, (what, ours.dtype, ref.dtype)
    assert ours.shape == ref.shape, (what, ours.shape, ref.shape)
    nan_o, nan_r = np.isnan(ours), np.isnan(ref)
    bad_nan = np.flatnonzero(nan_o != nan_r)
    assert bad_nan.size == 0, f"{what}: NaN positions differ at {bad_nan[:10]}"
    ubits = {2: np.uint16, 4: np.uint32}[ours.dtype.itemsize]
    ob, rb = ours.view(ubits), ref.view(ubits)
    bad = np.flatnonzero((ob != rb) if nan_bits else (ob != rb) & ~nan_o)
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


#: (tokens, blocks) of the tokenizer-sized file the reader test and the
#: open benchmark use: a 262,144-token vocabulary and 300 tensors.
LARGE_TOKENIZER = (262_144, 30)


def write_tokenizer_sized_gguf(path, n_tokens: int = LARGE_TOKENIZER[0],
                               n_blocks: int = LARGE_TOKENIZER[1]) -> None:
    """A GGUF file shaped like a real model's header: ``n_tokens`` token strings
    with their scores and types, and 10 small tensors per block (300 by
    default). Used by the reader test and the open benchmark."""
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


# ------------------------------------------ int8 matrix-vector kernel, emulated
# A NumPy model of q4_0_matvec_int8.hip (cq_q4_0_xprep_i8_* and cq_q4_0_mvi8_*),
# operation for operation: the exponents, limbs and corrections of the prep,
# the records in the kernel's lane layout, the weights' mma fragments built the
# way the kernel builds them (aligned words and a byte permute), the exact
# integer mma, the exact FFMA D * P - KK, and the float32 accumulation in the
# kernel's order. float32 FMA is modelled as a float64 product and sum rounded
# once to float32: exact except for a rare double rounding (1 ulp) when the
# float64 sum itself rounds.

def _fma32(a, b, c):
    return (np.asarray(a, np.float64) * b + c).astype(np.float32)


def mvi8_kperm(odd: bool) -> np.ndarray:
    """(4, 4): the qs index held at mma k = 4t + i (low nibbles; the high
    nibbles at k = 16 + 4t + i hold the same qs bytes) for odd / even blocks."""
    t = np.arange(4)[:, None]
    i = np.arange(4)[None, :]
    return 4 * t + i if odd else (4 * t - 2 + i) & 15


def mvi8_prep(x, nt: int | None = None) -> dict:
    """The records of cq_q4_0_xprep_i8_* for activations x (M, K), float16 or
    float32. Returns s (2 NT, nb) exponents, X (2 NT, nb, 32) the fixed-point
    values, limbs (2 NT, nb, 4, 32) (natural value order), negkk (2 NT, nb, 4)
    uint32 bits of -KK, rec (nb, NT, 32, 4) uint32 (the kernel's uint4 records)."""
    x = np.asarray(x)
    M, K = x.shape
    nb = K // 32
    NT = nt or -(-M // 2)
    MC = 2 * NT
    xf = np.zeros((MC, nb, 32), np.float32)
    xf[:M] = x.astype(np.float32).reshape(M, nb, 32)
    amax = (xf.view(np.uint32) & np.uint32(0x7FFFFFFF)).max(-1).astype(np.int64)
    bad = amax >= 0x7F800000
    e_sub = np.frexp(np.maximum(amax, 1).astype(np.float64))[1].astype(np.int64) - 1 - 149
    e = np.where(amax >= 0x00800000, (amax >> 23) - 127, e_sub)
    s = np.where((amax == 0) | bad, 0, np.minimum(29 - e, 149))
    sl = s[..., None] - np.where(np.arange(32) < 16, 0, 4)
    with np.errstate(invalid="ignore", over="ignore"):
        X = np.rint(xf.astype(np.float64) * np.ldexp(1.0, sl))  # exact product, ties to even
    X = np.where(bad[..., None], 0.0, X).astype(np.int64)
    L = np.empty((MC, nb, 4, 32), np.int64)
    r = X.copy()
    for j in (3, 2, 1):
        L[:, :, j] = ((r + 128) & 255) - 128
        r = (r - L[:, :, j]) >> 8
    L[:, :, 0] = r
    corr = (L * np.where(np.arange(32) < 16, 1, 16)).sum(-1)
    negkk = (0x80000000 + ((150 - s[..., None]) << 23) + 0x400000 + 8 * corr) & 0xFFFFFFFF
    negkk = np.where(bad[..., None], 0xFFC00000, negkk).astype(np.uint32)
    rec = np.zeros((nb, NT, 32, 4), np.uint32)
    for odd in (0, 1):
        bsel = np.arange(odd, nb, 2)
        perm = mvi8_kperm(bool(odd))
        for m in range(MC):
            for j in range(4):
                c = 4 * (m % 2) + j
                for t in range(4):
                    for hi in (0, 1):
                        limb = L[m, bsel, j][:, perm[t] + 16 * hi] & 255  # (blocks, 4 bytes)
                        word = (limb << np.array([0, 8, 16, 24])).sum(-1)
                        rec[bsel, m // 2, 4 * c + t, hi] = word.astype(np.uint32)
    for m in range(MC):
        for j in range(4):
            c = 4 * (m % 2) + j
            for g in range(8):
                rec[:, m // 2, 4 * g + c // 2, 2 + c % 2] = negkk[m, :, j]
    return {"s": s, "X": X, "limbs": L, "negkk": negkk, "rec": rec, "nt": NT}


def _byte_perm(x, y, sel):
    """CUDA __byte_perm on uint32 arrays (selector nibbles 0-7 only)."""
    b = np.concatenate([(x[..., None] >> np.array([0, 8, 16, 24], np.uint32)) & 255,
                        (y[..., None] >> np.array([0, 8, 16, 24], np.uint32)) & 255], -1)
    out = np.zeros(x.shape, np.uint32)
    for i in range(4):
        idx = (np.asarray(sel, np.uint32) >> (4 * i)) & 7
        out |= np.take_along_axis(b, np.broadcast_to(idx, x.shape)[..., None].astype(np.int64), -1)[..., 0] << (8 * i)
    return out


def mvi8_weight_fragments(raw: np.ndarray, N: int, K: int) -> tuple:
    """(d (N, nb) float32, q (N, nb, 4) uint32): each block's scale and the u32
    word that thread t gives the mma (before masking), built as the kernel does:
    odd blocks one aligned word at block offset 2 + 4t; even blocks the aligned
    word at offset 4t and the one at offset 16, joined by __byte_perm (thread 0:
    selector 0x3254)."""
    nb = K // 32
    blocks = np.asarray(raw, np.uint8).reshape(N, nb, 18)
    d = blocks[..., :2].copy().view(np.float16)[..., 0].astype(np.float32)
    padded = np.zeros((N, nb, 20), np.uint8)  # bytes 18, 19: the next block's d (unused)
    padded[..., :18] = blocks
    words = padded.view("<u4").astype(np.uint32)  # (N, nb, 5): offsets 0, 4, ..., 16
    q = np.empty((N, nb, 4), np.uint32)
    for t in range(4):
        q[:, 0::2, t] = _byte_perm(words[:, 0::2, t], words[:, 0::2, 4], 0x3254 if t == 0 else 0x3210)
        odd = blocks[:, 1::2, 2 + 4 * t:6 + 4 * t].copy().view("<u4")[..., 0]
        q[:, 1::2, t] = odd
    return d, q


def mvi8_matvec(raw: np.ndarray, N: int, K: int, x, kb: int = 8, splits: int = 1,
                prep: dict | None = None, sps: int | None = None) -> np.ndarray:
    """What cq_q4_0_mvi8_* computes, as float32 (M, N): y = x @ W.T with the
    kernel's exact arithmetic, K split into ``splits`` ranges of stages of ``kb``
    blocks (or ranges of ``sps`` stages), partial sums added in split order.
    ``prep``: the records (mvi8_prep's dict, or {"rec", "nt"}) instead of x's."""
    M = np.shape(x)[0]
    nb = K // 32
    P = prep if prep is not None else mvi8_prep(x)
    NT, rec = P["nt"], P["rec"]
    d, q = mvi8_weight_fragments(raw, N, K)
    # A[n, b, k] (u8): k = 4t + i low nibbles, 16 + 4t + i high nibbles times 16
    qb = ((q[..., None] >> np.array([0, 8, 16, 24], np.uint32)) & 255).astype(np.int64)  # (N, nb, 4, 4)
    A = np.concatenate([(qb & 15).reshape(N, nb, 16), (qb & 240).reshape(N, nb, 16)], -1)
    # B[b, nt, k, c] (s8) from lane 4c + t, words 0 (k = 4t + i) and 1 (k = 16 + 4t + i)
    wb = rec[..., :2].astype(np.int64).reshape(nb, NT, 8, 4, 2)  # (b, nt, c, t, hi)
    by = (wb[..., None] >> np.array([0, 8, 16, 24])) & 255
    by = np.where(by >= 128, by - 256, by)  # (b, nt, c, t, hi, i)
    B = by.transpose(0, 1, 4, 3, 5, 2).reshape(nb, NT, 32, 8)
    negkk = rec[:, :, np.arange(8) // 2, 2 + np.arange(8) % 2]  # (b, nt, c) from lanes g = 0
    Pexp = (negkk & np.uint32(0x7F800000)).view(np.float32).astype(np.float64)
    nkk = negkk.view(np.float32).astype(np.float64)
    n_st = -(-nb // kb)
    sps = sps or -(-n_st // splits)
    bounds = [(s0 * kb, min(nb, (s0 + sps) * kb)) for s0 in range(0, n_st, sps)]
    y = np.zeros((N, 2 * NT), np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        for b_lo, b_hi in bounds:
            acc = np.zeros((N, NT, 8), np.float32)
            for b in range(b_lo, b_hi):
                raw_dot = np.einsum("nk,tkc->ntc", A[:, b], B[b])  # exact integers
                D = (np.uint32(0x3FC00000) + raw_dot.astype(np.uint32)).view(np.float32)
                e = (D.astype(np.float64) * Pexp[b] + nkk[b]).astype(np.float32)  # exact
                acc = _fma32(d[:, b, None, None], e, acc)
            a = acc.reshape(N, NT, 2, 4).astype(np.float64)
            pa = (a[..., 0] * 2.0 ** 24 + a[..., 1] * 2.0 ** 16).astype(np.float32)
            pb = (a[..., 2] * 256.0 + a[..., 3]).astype(np.float32)
            y = (y + (pa + pb).reshape(N, 2 * NT)).astype(np.float32)
    return y[:, :M].T.copy()


# ------------------------------- float32 activations on the float16 tensor cores
def f32_as_f16x2(x) -> tuple:
    """A NumPy model of how the tensor-core matrix-vector kernels take float32
    activations (cq_f16x2_scale and cq_mv_records_f16x2 in q4_0_matvec_tc.hip): each
    row of x (..., K) is scaled by 2^s, s from its largest |x| (clamped to
    [-126, 126], 0 for a row of zeros or with Inf / NaN), and every scaled
    value v becomes hi = float16(v) and lo = float16(v - hi). Returns (hi,
    lo, s). The kernels flush float32 subnormal inputs to zero (CuPy compiles
    with -ftz=true); NumPy does not, so the model is exact for normal inputs."""
    x = np.asarray(x, np.float32)
    top = (x.view(np.uint32) & np.uint32(0x7FFFFFFF)).max(axis=-1)
    s = np.clip(15 - ((top >> np.uint32(23)).astype(np.int64) - 126), -126, 126)
    s = np.where((top == 0) | (top >= 0x7F800000), 0, s)
    v = x * np.ldexp(np.float32(1), s).astype(np.float32)[..., None]  # a power of two: exact
    with np.errstate(invalid="ignore", over="ignore"):
        hi = v.astype(np.float16)
        lo = (v - hi.astype(np.float32)).astype(np.float16)
    return hi, lo, s


def assert_dequant_into(fmt, raw: np.ndarray, out_shape, out_dtype, expected=None, **kwargs) -> None:
    """fmt.dequant(raw, out=...) on the host returns ``out``, of its shape and
    dtype, holding ``expected`` (default: gguf's float32 values, rounded once
    for a float16 out) bit for bit; ``out`` is filled with NaN first, so a
    value not written shows wherever ``expected`` is not NaN."""
    if expected is None:
        with np.errstate(all="ignore"):
            expected = reference(fmt, raw).astype(out_dtype)
    out = np.full(out_shape, np.nan, out_dtype)
    assert fmt.dequant(raw, out=out, **kwargs) is out
    assert out.shape == tuple(out_shape) and out.dtype == out_dtype
    assert_bit_exact(out, expected, f"{fmt.name} out={np.dtype(out_dtype).name}{tuple(out_shape)}")


# A stand-in for CuPy that a child process finds first on sys.path: each
# import of it is written down (with the importer's stack) and fails as an
# absent CuPy would, so that `try: import cupy / except ImportError` is seen too.
_CUPY_STUB = """
import os, traceback
with open(os.environ["CQ_CUPY_IMPORT_LOG"], "a", encoding="utf-8") as log:
    log.write("cupy imported from:\\n" + "".join(traceback.format_stack()[:-1]) + "\\n")
raise ImportError("cupy stub: CuPy is absent in this test")
"""
_CPU_WORK_DONE = "=== CPU work done ==="


def run_with_cupy_stub(tmp_path, work: str) -> None:
    """Run ``work`` (Python source) in a child process whose sys.path starts
    with a stub ``cupy`` package and the cupyquant checkout under test; fail
    if anything imported (or tried to import) cupy during it. Afterwards the
    child imports cupy itself, which must be recorded: proof that the stub
    was the cupy it would have found."""
    stub = tmp_path / "stub"
    (stub / "cupy").mkdir(parents=True)
    (stub / "cupy" / "__init__.py").write_text(_CUPY_STUB, encoding="utf-8")
    log = tmp_path / "cupy_imports.log"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the checkout of this module
    code = "\n".join([
        "import os, sys",
        f"sys.path[:0] = [{str(stub)!r}, {root!r}]",
        "import cupyquant",
        f"assert os.path.abspath(cupyquant.__file__) == {os.path.join(root, 'cupyquant', '__init__.py')!r}, "
        "cupyquant.__file__",
        work,
        "assert 'cupy' not in sys.modules, 'cupy in sys.modules'",
        f"open(os.environ['CQ_CUPY_IMPORT_LOG'], 'a').write({_CPU_WORK_DONE!r} + '\\n')",
        "try:\n    import cupy\nexcept ImportError:\n    pass\nelse:\n    raise AssertionError('stub imported')",
    ])
    env = dict(os.environ, CQ_CUPY_IMPORT_LOG=str(log))
    res = subprocess.run([sys.executable, "-c", code], env=env, cwd=str(tmp_path), capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    during, _, after = log.read_text(encoding="utf-8").partition(_CPU_WORK_DONE)
    assert not during.strip(), f"the CPU path imported cupy:\n{during}"
    assert "cupy imported from" in after, "the cupy stub was not found first on sys.path"
