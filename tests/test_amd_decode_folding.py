"""Every format's AMD decode arithmetic, bit for bit against gguf-py, with no
AMD GPU: the compiler evaluates it.

A probe module holds random blocks of a format, its constant tables and
gguf-py's float32 values for them (with their float16 and bfloat16
roundings), all as constants, and kernels that decode the blocks with the
format's own decoder (its HIP family file, as the dequantization kernels
include it) through each entry the kernels use (decode8, or group_scale and
decode8_scaled, and for direct-16-bit formats decode8_16 too), convert each
value the way the kernels' stores do, and OR together the XOR of every result
with the expected bits. Nothing depends on a run-time value, so LLVM folds
it all: a kernel's store of a marker word is removed exactly when every bit
is equal. The marker left in the build (hiprtc's machine code, or clang's
assembly) means a differing bit, or arithmetic the compiler could not fold;
both fail.

What this proves: the decoders' source, as the AMD toolchain reads it (the
HIP branches of common.h: _Float16 conversions, the integer bfloat16
rounding, v_perm_b32), computes gguf-py's bits under LLVM's IEEE
semantics, on each AMD target. What it does not:
- contraction: folding happens before multiply-adds are fused, so a build
  without ``-ffp-contract=off`` (gpu/modules.py) would pass here too (no
  format's reference changes under fusion anyway: its products are exact);
- the skeleton around the decoders: tiles, staging, the copy of shared
  tables into LDS, wave-64 indexing, stores, alignment of loads;
- instruction selection and hardware;
- a decoder reading a value it never set: hiprtc may fold such a value to
  whatever makes the comparison equal (the outputs themselves start as a
  sentinel, so an output never written is caught);
- MXFP4: its 17-byte blocks are read with loads aligned at run time
  (cq_load8<1> shifts by the address's low bits), which the compiler cannot
  fold, so it is left out;
- NaN: blocks whose reference has a NaN are left out (NaN payloads through
  folding need not be the hardware's); infinities stay in.
"""

from __future__ import annotations

import os
import re
import struct

import numpy as np
import pytest

from cupyquant import FORMATS
from cupyquant.hip import read_source
from cupyquant.offline_compile import AMD_TARGETS, CLANG_AMD_TARGETS, compile_source
from cupyquant.testing import bf16_bits, make_blocks, reference
from test_compile import _need_compiler

TARGETS = AMD_TARGETS + CLANG_AMD_TARGETS
#: stored by a probe kernel only where some bit differs
MARKER = 0x5EC0DE17
#: the value each output starts as: a decoder that does not write one fails
UNWRITTEN = 0x7FBADBAD
FOLDED_FORMATS = [name for name in FORMATS if name != "MXFP4"]
#: groups of 8 values a kernel checks (a few thousand folded operations; the
#: AMD inliner stops at a kernel of more than 1,100 basic blocks)
GROUPS_PER_KERNEL = 32
VALUES_PER_FORMAT = 2048


def _c_array(ctype: str, name: str, values) -> str:
    body = ",".join(f"{int(v):#x}" for v in values) or "0"
    return f"__constant__ const {ctype} {name}[{max(1, len(values))}] __attribute__((aligned(16))) = {{{body}}};\n"


def nan_free_blocks(fmt, rng: np.random.Generator) -> np.ndarray:
    """VALUES_PER_FORMAT values' worth of random blocks (a quarter of their
    float16 fields special: subnormals, +-0, +-Inf, the largest finite, ...)
    whose reference values have no NaN."""
    per_block = max(1, fmt.block_size)
    want = max(1, VALUES_PER_FORMAT // per_block)
    kept = []
    while len(kept) < want:
        raw = make_blocks(fmt, 4 * want, rng).reshape(-1, fmt.type_size)
        ref = reference(fmt, raw).reshape(len(raw), -1)
        kept += [raw[i] for i in np.flatnonzero(~np.isnan(ref).any(axis=1))]
    return np.concatenate(kept[:want])


def probe_source(fmt, raw: np.ndarray, expected_f32=None) -> tuple[str, int]:
    """The probe module for ``raw`` (whole blocks), and its kernel count."""
    ref = reference(fmt, raw)
    f32 = ref.view(np.uint32) if expected_f32 is None else expected_f32
    with np.errstate(over="ignore"):
        f16 = ref.astype(np.float16).view(np.uint16).astype(np.uint32)
    b16 = bf16_bits(ref).astype(np.uint32)
    tables = fmt.tables()
    table_bytes = [] if tables is None else np.ascontiguousarray(tables).view(np.uint8).reshape(-1)
    bs, ts = fmt.block_size, fmt.type_size
    groups_per_block = max(1, bs // 8)
    n_groups = ref.size // 8

    def group_call(g: int) -> str:
        # F32 / F16 / BF16 (block_size 1): decode8 reads 8 consecutive elements, sub 0
        offset, sub = (8 * g * ts, 0) if bs == 1 else (g // groups_per_block * ts, g % groups_per_block)
        return f"    diff |= cq_probe_group<Decoder_{fmt.name}>({offset}, {sub}, {8 * g});"

    kernels = []
    for k, g0 in enumerate(range(0, n_groups, GROUPS_PER_KERNEL)):
        calls = "\n".join(group_call(g) for g in range(g0, min(n_groups, g0 + GROUPS_PER_KERNEL)))
        kernels.append(f'extern "C" __global__ void cq_probe_decode_{k}(cq_u32* out) {{\n'
                       f"    cq_u32 diff = 0;\n{calls}\n    if (diff) out[0] = {MARKER:#x}u;\n}}\n")
    source = "".join([
        read_source("common.h"), "\n", read_source(f"{fmt.hip_family}.hip"), "\n",
        # 16 bytes of slack after the blocks, as the skeleton's stage has
        _c_array("cq_u8", "cq_probe_blocks", np.concatenate([raw, np.zeros(16, np.uint8)])),
        _c_array("cq_u8", "cq_probe_tables", table_bytes),
        _c_array("cq_u32", "cq_probe_f32", f32),
        _c_array("cq_u32", "cq_probe_16", f16 | b16 << 16),
        f"""
// The kernels' call of the decoder (cq_dequant_tiles): decode8, or
// decode8_scaled with its group's scale.
template <class D>
__device__ __forceinline__ void cq_probe_decode8(const cq_u8* blk, int sub, float* v) {{
    if constexpr (cq_scale_groups<D>::value > 0) {{
        constexpr int SG = cq_scale_groups<D>::value;
        D::decode8_scaled(blk, sub, D::group_scale(blk, sub / (D::block_size / 8 / SG)), v);
    }} else {{
        D::decode8(blk, sub, cq_probe_tables, v);
    }}
}}
// Differing bits of one group of 8 values: float32, and float16 / bfloat16
// as the stores convert them (cq_store8_u16: two values a word).
template <class D>
__device__ __forceinline__ cq_u32 cq_probe_group(int blk_off, int sub, int e) {{
    float v[8];
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = __uint_as_float({UNWRITTEN:#x}u);
    cq_probe_decode8<D>(cq_probe_blocks + blk_off, sub, v);
    cq_u32 diff = 0;
#pragma unroll
    for (int i = 0; i < 8; ++i) diff |= __float_as_uint(v[i]) ^ cq_probe_f32[e + i];
#pragma unroll
    for (int i = 0; i < 8; i += 2) {{
        const cq_u32 lo = cq_probe_16[e + i], hi = cq_probe_16[e + i + 1];
        diff |= cq_float2_to_half2(v[i], v[i + 1]) ^ ((lo & 0xFFFFu) | (hi << 16));
        diff |= cq_float2_to_bf16x2(v[i], v[i + 1]) ^ ((lo >> 16) | (hi & 0xFFFF0000u));
    }}
    // Direct 16-bit output (the float16 / bfloat16 kernels' fast path)
    if constexpr (cq_direct16<D>::value) {{
        cq_u32 h[4] = {{{UNWRITTEN:#x}u, {UNWRITTEN:#x}u, {UNWRITTEN:#x}u, {UNWRITTEN:#x}u}};
        cq_u32 bf[4] = {{{UNWRITTEN:#x}u, {UNWRITTEN:#x}u, {UNWRITTEN:#x}u, {UNWRITTEN:#x}u}};
        D::template decode8_16<cq_float_to_half>(cq_probe_blocks + blk_off, sub, h);
        D::template decode8_16<cq_float_to_bf16>(cq_probe_blocks + blk_off, sub, bf);
#pragma unroll
        for (int i = 0; i < 8; i += 2) {{
            const cq_u32 lo = cq_probe_16[e + i], hi = cq_probe_16[e + i + 1];
            diff |= h[i / 2] ^ ((lo & 0xFFFFu) | (hi << 16));
            diff |= bf[i / 2] ^ ((lo >> 16) | (hi & 0xFFFF0000u));
        }}
    }}
    return diff;
}}
""",
        *kernels])
    return source, len(kernels)


def marker_left(res) -> bool:
    if res.assembly:
        return re.search(rf"\b{MARKER:#x}\b", res.assembly, re.I) is not None
    return struct.pack("<I", MARKER) in res.code


def _fold(fmt, raw, target, source=None, **kw):
    src, n_kernels = probe_source(fmt, raw, **kw)
    res = compile_source(source(src) if source else src, target, name=f"fold_{fmt.name}.hip")
    assert res.ok, res.log
    missing = res.kernel_symbols_missing([f"cq_probe_decode_{k}" for k in range(n_kernels)])
    assert not missing, missing
    return res


def _seed() -> int:
    return int(os.environ.get("CUPYQUANT_FOLD_SEED") or np.random.SeedSequence().entropy % 2**32)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", FOLDED_FORMATS)
def test_decoder_folds_to_gguf_bits(name, target):
    _need_compiler(target)
    fmt = FORMATS[name]
    seed = _seed()
    raw = nan_free_blocks(fmt, np.random.default_rng(seed))
    res = _fold(fmt, raw, target)
    assert not marker_left(res), (
        f"{name} on {target}: the decoder's float32 / float16 / bfloat16 bits differ from "
        f"gguf-py's for some value, or the compiler could not fold the probe "
        f"(CUPYQUANT_FOLD_SEED={seed} repeats the blocks)")


# --------------------------------------------- the check, shown able to fail
MUTATIONS = {
    # a value of the expected bits off by one ulp
    "expected": ("Q4_0", None),
    # bfloat16 ties rounded away from zero instead of to even (common.h's AMD branch)
    "bf16_ties": ("Q4_0", ("u += 0x7fffu + ((u >> 16) & 1u);", "u += 0x8000u;")),
    # TQ1_0's direct float16 / bfloat16 path: d * 1 converted as d * -1
    "direct16": ("TQ1_0", ("CONV(CQ_MUL(d, 1.0f))", "CONV(CQ_MUL(d, -1.0f))")),
    # +-Inf taken for NaN by the bfloat16 conversion (common.h's AMD branch)
    "bf16_inf": ("F16", ("if ((u & 0x7fffffffu) > 0x7f800000u)", "if ((u & 0x7fffffffu) >= 0x7f800000u)")),
    # Q4_0's offset wrong
    "offset": ("Q4_0", ("v[i] = CQ_MUL(d, cq_code_to_float(q, i, 8));",
                        "v[i] = CQ_MUL(d, cq_code_to_float(q, i, 7));")),
    # one value of each group never written
    "unwritten": ("Q4_0", ("for (int i = 0; i < 8; ++i) v[i] = CQ_MUL(d, cq_code_to_float(q, i, 8));",
                           "for (int i = 0; i < 7; ++i) v[i] = CQ_MUL(d, cq_code_to_float(q, i, 8));")),
}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("mutation", list(MUTATIONS))
def test_fold_check_can_fail(mutation, target):
    _need_compiler(target)
    name, edit = MUTATIONS[mutation]
    fmt = FORMATS[name]
    raw = nan_free_blocks(fmt, np.random.default_rng(1))
    if edit is None:
        f32 = reference(fmt, raw).view(np.uint32).copy()
        f32[37] ^= 1
        res = _fold(fmt, raw, target, expected_f32=f32)
    else:
        old, new = edit

        def mutate(src: str) -> str:
            assert old in src, f"the {mutation} mutation's text is not in the source"
            return src.replace(old, new)
        res = _fold(fmt, raw, target, source=mutate)
    assert marker_left(res), f"{mutation}: the probe did not notice"
