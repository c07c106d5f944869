"""Every kernel source compiles for AMD (hiprtc: gfx90a wave64, gfx1030 wave32;
clang's HIP mode: gfx942 wave64, gfx1100 and gfx1200 wave32, which that hiprtc
cannot compile for) and NVIDIA (NVRTC: sm_90), on a machine with no GPU.

The compilers are loaded with ctypes (see cupyquant.offline_compile). Where a
compiler library is missing the tests skip locally, but FAIL in CI (the ``CI``
environment variable set): .ci/run installs both, so a missing one there is a
broken CI, not a reason to pass.
"""

from __future__ import annotations

import re

import pytest

from cupyquant import kernel_resources
from cupyquant.hip import read_source
from cupyquant.offline_compile import (AMD_TARGETS, CLANG_AMD_TARGETS, NVIDIA_TARGETS, CompilerUnavailable,
                                       all_sources, compile_source, compiler_for, extra_targets)
from cupyquant.testing import skip_or_fail_in_ci

TARGETS = AMD_TARGETS + CLANG_AMD_TARGETS + NVIDIA_TARGETS


def _all_sources() -> tuple[dict[str, str], str | None]:
    """all_sources(), or, when assembling some source fails, what can be had:
    the failing formats then fail their own tests instead of the collection."""
    try:
        return all_sources(), None
    except Exception as e:  # e.g. a format's family file missing
        from cupyquant import FORMATS
        found = {}
        for name in FORMATS:
            try:
                found[f"dequant {name}"] = FORMATS[name].source
            except Exception:
                found[f"dequant {name}"] = None
        return found, f"{type(e).__name__}: {e}"


SOURCES, SOURCES_ERROR = _all_sources()


def _compiler_name(target: str) -> str:
    return "NVIDIA" if target.startswith("sm_") else "clang" if target in CLANG_AMD_TARGETS else "hiprtc"


def _need_compiler(target: str) -> None:
    try:
        compiler_for(target)
    except (CompilerUnavailable, OSError, AttributeError) as e:  # absent, or not loadable
        hint = {"hiprtc": "apt-get install libamdhip64-5 libhiprtc-builtins5 rocm-device-libs",
                "clang": "apt-get install clang-19 libamdhip64-dev",
                "NVIDIA": "pip install 'nvidia-cuda-nvrtc==13.*'"}[_compiler_name(target)]
        skip_or_fail_in_ci(f"{e} (needed to compile for {target}; {hint})")


def _source(label: str) -> str:
    if SOURCES[label] is None:  # raise the real error
        from cupyquant import FORMATS
        return FORMATS[label.split(" ", 1)[1]].source
    return SOURCES[label]


def expected_kernels(label: str) -> list[str]:
    """The kernels the host launches from the source ``label``: a format's
    three dequantization kernels (CQ_DEQUANT_KERNELS in hip/common.h:
    cq_dequant_<kernel_tag>_{f32,f16,bf16}; BlockFormat.kernel_name gives the
    first two, which gpu/dequant.py launches), or the matmul modules' names
    (matmul_kernels.all_kernel_names / all_wgmma_kernel_names). A source
    label not known here is a KeyError: a new module must say what it holds."""
    import numpy as np
    from cupyquant import FORMATS
    from cupyquant import matmul_kernels as mk
    if label.startswith("dequant "):
        fmt = FORMATS[label.split(" ", 1)[1]]
        names = [f"cq_dequant_{fmt.kernel_tag}_{suffix}" for suffix in ("f32", "f16", "bf16")]
        assert [fmt.kernel_name(np.float32), fmt.kernel_name(np.float16)] == names[:2], names
        return names
    return {"matmul Q4_0": mk.all_kernel_names(), "matmul Q4_0 sm90a": mk.all_wgmma_kernel_names()}[label]


def _compile_or_fail(label: str, source: str, target: str, kernels=None) -> None:
    """Compile, and check that the output defines every kernel the host
    launches (``kernels``; default: expected_kernels(label)): a source that
    compiles to no kernels, or to other names, must fail."""
    _need_compiler(target)
    kernels = expected_kernels(label) if kernels is None else list(kernels)
    assert kernels, label
    # ptxas's local memory report for the dequantization kernels (the matmul
    # modules' bounded builds spill a few bytes by design, and how many moves
    # with the NVRTC version)
    verbose = target in NVIDIA_TARGETS and label.startswith("dequant ")
    res = compile_source(source, target, name=label.replace(" ", "_") + ".hip",
                         extra_options=(kernel_resources.PTXAS_VERBOSE,) if verbose else ())
    assert res.ok, (f"{label}: compiling for {target} failed "
                    f"({_compiler_name(target).replace('NVIDIA', 'NVRTC')} log follows)\n{res.log}")
    missing = res.kernel_symbols_missing(kernels)
    assert not missing, (f"{label}: the {target} build defines no kernel named {missing[:10]} "
                         f"({len(missing)} of {len(kernels)} missing)")
    _check_resources(label, res, target, kernels)


def _need_msgpack() -> None:
    try:
        import msgpack  # noqa: F401
    except ImportError:
        skip_or_fail_in_ci("msgpack is needed to read AMD code object metadata (pip install -e '.[test]')")


def _check_resources(label: str, res, target: str, kernels) -> None:
    """What the build would cost on the hardware (cupyquant.kernel_resources):
    for hiprtc's AMD builds, scratch, spills, a dynamic stack, LDS over a
    workgroup's, another wavefront size or a workgroup bound below the
    host's launches; for the sm_90 dequantization builds, local memory (a
    stack frame or spills). Either would show only as a slower or failing
    kernel on a device."""
    if target in AMD_TARGETS:
        _need_msgpack()
    found = kernel_resources.problems(label, res, target, kernels)
    assert not found, f"{label}: the {target} build of {len(found)} kernels would cost on the hardware: {found}"


@pytest.mark.parametrize("target", TARGETS)
def test_kernel_symbol_check_can_fail(target):
    """kernel_symbols_missing finds a kernel that is defined, and reports one
    that is not (whose name only a comment of the source mentions)."""
    _need_compiler(target)
    src = ('// cq_absent_kernel is not compiled\n'
           'extern "C" __global__ void cq_present_kernel(int* out) { out[0] = 1; }\n')
    res = compile_source(src, target, name="symbol_check.hip")
    assert res.ok, res.log
    assert res.kernel_symbols_missing(["cq_present_kernel", "cq_absent_kernel"]) == ["cq_absent_kernel"]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("label", list(SOURCES))
def test_source_compiles(label, target):
    _compile_or_fail(label, _source(label), target)


@pytest.mark.parametrize("label,target", [(label, t) for label, ts in extra_targets().items() for t in ts])
def test_source_compiles_for_extra_targets(label, target):
    """The wgmma module for sm_90a, where its kernels are more than empty bodies."""
    _compile_or_fail(label, _source(label), target)
    # ... and they are: its binary is far larger than the sm_90 build's
    big = compile_source(_source(label), target).binary_size
    small = compile_source(_source(label), "sm_90").binary_size
    assert big > 4 * small, (big, small)


# The matrix instructions the matmul module's clang builds must contain: the
# MFMA branch on CDNA3, the WMMA branch on RDNA3 (CQ_AMD_MFMA / CQ_AMD_WMMA in
# q4_0_mm_common.hip), neither on RDNA4 (the portable branch).
MATRIX_INSTRUCTIONS = {"gfx942": "v_mfma_f32_32x32x8", "gfx1100": "v_wmma_f32_16x16x16_f16", "gfx1200": None}


@pytest.mark.parametrize("target", CLANG_AMD_TARGETS)
def test_matmul_matrix_branch_per_target(target):
    label = next(label for label in SOURCES if label.startswith("matmul") and label not in extra_targets())
    _need_compiler(target)
    res = compile_source(_source(label), target)
    assert res.ok, res.log
    want = MATRIX_INSTRUCTIONS[target]
    if want is None:
        assert "v_mfma" not in res.assembly and "v_wmma" not in res.assembly
    else:
        assert want in res.assembly
    kernels = res.assembly.count(".amdhsa_kernel ")
    assert kernels > 50, kernels


def test_all_sources_assembles():
    assert SOURCES_ERROR is None, f"cupyquant.offline_compile.all_sources() failed: {SOURCES_ERROR}"
    from cupyquant import FORMATS
    assert {f"dequant {name}" for name in FORMATS} <= set(SOURCES)


# ------------------------------------------------------- source hygiene checks
def _hip_files() -> dict[str, str]:
    from importlib import resources
    root = resources.files("cupyquant.hip")
    return {p.name: p.read_text(encoding="utf-8") for p in root.iterdir()
            if p.name.endswith((".h", ".hip", ".cuh"))}


def _strip_comments(text: str) -> str:
    """C/C++ comments removed, line structure kept (so line numbers still match)."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


_RTC = "__HIPCC_RTC__"


def _excludes_rtc(directive: str, cond: str, in_else: bool) -> bool:
    """Whether code under this conditional is skipped when hiprtc compiles it."""
    cond = cond.replace(" ", "")
    if directive == "ifndef":
        negative = cond == _RTC
        positive = False
    else:  # if / ifdef / elif
        negative = f"!defined({_RTC})" in cond or f"!defined{_RTC}" in cond
        positive = (directive == "ifdef" and cond == _RTC) or (
            not negative and (cond == f"defined({_RTC})" or cond == _RTC))
    return (negative and not in_else) or (positive and in_else)


def _walk_conditionals(text: str):
    """Yield (lineno, line, directive, stack) for every line outside comments:
    ``directive`` is the preprocessor directive of the line (None for code) and
    ``stack`` the enclosing conditionals as [directive, condition, in_else],
    updated by the line's own #if/#elif/#else/#endif before it is yielded."""
    stack: list[list] = []
    for lineno, line in enumerate(_strip_comments(text).splitlines(), 1):
        m = re.match(r"\s*#\s*(\w+)\s*(.*)", line)
        d = m.group(1) if m else None
        if m:
            rest = m.group(2).strip()
            if d in ("if", "ifdef", "ifndef"):
                stack.append([d, rest, False])
            elif d == "elif" and stack:
                stack[-1] = ["if", rest, False]
            elif d == "else" and stack:
                stack[-1][2] = True
            elif d == "endif" and stack:
                stack.pop()
        yield lineno, line, d, stack


def unguarded_includes(text: str) -> list[tuple[int, str]]:
    """``#include`` lines not inside an ``#if !defined(__HIPCC_RTC__)``-style guard."""
    return [(lineno, line.strip()) for lineno, line, d, stack in _walk_conditionals(text)
            if d == "include" and not any(_excludes_rtc(*entry) for entry in stack)]


def test_include_guard_checker_itself():
    ok = "#if !defined(__HIPCC_RTC__)\n#include <hip/hip_fp16.h>\n#endif\n"
    ok2 = "#ifdef __HIPCC_RTC__\nint x;\n#else\n#include <cuda_fp16.h>\n#endif\n"
    bad = "#include <hip/hip_runtime.h>\n"
    bad2 = "#if defined(__HIPCC_RTC__)\n#include <x.h>\n#endif\n"
    assert unguarded_includes(ok) == [] and unguarded_includes(ok2) == []
    assert unguarded_includes(bad) and unguarded_includes(bad2)
    assert unguarded_includes("// #include <x.h>\n/* #include <y.h> */\n") == []


@pytest.mark.parametrize("filename", sorted(_hip_files()))
def test_no_unguarded_include(filename):
    bad = unguarded_includes(_hip_files()[filename])
    assert not bad, (f"cupyquant/hip/{filename}: #include outside an "
                     f"`#if !defined(__HIPCC_RTC__)` guard (hiprtc pre-includes the HIP "
                     f"runtime and fp16 headers; including them again fails): {bad}")


@pytest.mark.parametrize("label", list(SOURCES))
def test_assembled_source_has_no_unguarded_include(label):
    assert not unguarded_includes(_source(label)), label


# Raw warp intrinsics (whose masks and widths differ between CUDA and HIP) and
# lane arithmetic on a literal 32 belong nowhere but common.h's macros, except
# in code compiled only for one architecture family, whose width is fixed:
# under `#if defined(CQ_CUDA)`, `__CUDA_ARCH__`, `CQ_SM80` / `CQ_SM90A`-style, `CQ_AMD_*`
# (e.g. CQ_AMD_MFMA: wave64 matrix cores) or `__gfx*__` / `__GFX9__` guards.
_RAW_WARP = re.compile(r"\b__(shfl\w*|ballot\w*|any_sync|all_sync|activemask|match_\w+|reduce_\w+_sync)\s*\(")
_LANE32 = re.compile(r"\b(threadIdx\.x|tid|lane\w*)\s*(&\s*(31|0x1[fF])\b|%\s*32\b|>>\s*5\b|/\s*32\b)")
_FULL_MASK = re.compile(r"0x[fF]{8}[uU]?[lL]*\s*,")
_FIXED_WIDTH = re.compile(r"(!?)\s*(?:defined\s*\(?\s*)?\b(CQ_CUDA|__CUDA_ARCH__|CQ_SM\d+A?|CQ_AMD_\w+|__gfx\w+__|__GFX\d+__)\b")


def _fixed_width_branch(directive: str, cond: str, in_else: bool) -> bool:
    """Whether code under this conditional is compiled for one architecture family only."""
    hits = _FIXED_WIDTH.findall(cond)
    if not hits:
        return False
    if directive == "ifndef":
        return in_else
    positive = any(neg == "" for neg, _ in hits)
    return positive if not in_else else all(neg == "!" for neg, _ in hits)


def warp_width_problems(text: str, is_common_h: bool = False) -> list[tuple[int, str, str]]:
    problems = []
    for lineno, line, d, stack in _walk_conditionals(text):
        if d and is_common_h and re.match(r"\s*#\s*define\s+CQ_\w+", line):
            continue  # the portable wrappers themselves
        if any(_fixed_width_branch(*entry) for entry in stack):
            continue
        if _RAW_WARP.search(line):
            problems.append((lineno, "raw warp intrinsic (use CQ_SHFL / CQ_SHFL_XOR / cq_warp_sum)",
                             line.strip()))
        if _LANE32.search(line):
            problems.append((lineno, "lane arithmetic on a literal 32 (use CQ_WARP_SIZE)", line.strip()))
        if _FULL_MASK.search(line) and re.search(r"__\w+\s*\(", line):
            problems.append((lineno, "32-lane mask passed to an intrinsic", line.strip()))
    return problems


@pytest.mark.parametrize("filename", sorted(_hip_files()))
def test_no_hard_coded_warp_of_32(filename):
    problems = warp_width_problems(_hip_files()[filename], is_common_h=filename == "common.h")
    assert not problems, f"cupyquant/hip/{filename} assumes a 32-wide warp: {problems}"


def test_warp_checker_itself():
    assert _RAW_WARP.search("v += __shfl_xor_sync(0xffffffff, v, 16);")
    assert _LANE32.search("const int lane = threadIdx.x & 31;")
    assert _LANE32.search("int w = threadIdx.x / 32;")
    assert not _LANE32.search("const int e = (u * CQ_THREADS + threadIdx.x) * 8;")
    generic = "__device__ void f() {\n  const int lane = tid & 31;\n}\n"
    assert warp_width_problems(generic)
    nvidia_only = "#if defined(CQ_SM80)\nconst int lane = tid & 31;\n#else\nint x;\n#endif\n"
    assert not warp_width_problems(nvidia_only)
    else_branch = ("#if defined(CQ_AMD_MFMA)\nint a;\n#elif defined(CQ_AMD_WMMA)\n"
                   "int lane = tid & 31;\n#else\nint lane = tid & 31;\n#endif\n")
    assert [p[0] for p in warp_width_problems(else_branch)] == [6]
    assert warp_width_problems("#if !defined(CQ_CUDA)\nint lane = tid & 31;\n#endif\n")
    assert not warp_width_problems("#if !defined(CQ_CUDA)\nint x;\n#else\nint lane = tid & 31;\n#endif\n")


def test_common_h_sync_shuffles_only_in_cuda_macros():
    """The `_sync` shuffles (CUDA only) appear in common.h solely as the CUDA
    branch of the CQ_ macros; HIP gets the maskless ones."""
    for line in _strip_comments(read_source("common.h")).splitlines():
        if "_sync(" in line:
            assert re.match(r"\s*#\s*define\s+CQ_\w+", line), line


# -------------------------------------------- the wave-size macro, proven
_PROBE = """
{common}
static_assert(CQ_WARP_SIZE == {expect}, "CQ_WARP_SIZE is not {expect} for this target");
extern "C" __global__ void cq_probe_warp_size(int* out) {{
    out[0] = CQ_WARP_SIZE;
    float v = (float)threadIdx.x;
    out[1] = (int)cq_warp_sum(v);
}}
"""

WAVE_SIZES = {**kernel_resources.AMD_WAVE_SIZES, "sm_90": 32}


@pytest.mark.parametrize("target", list(WAVE_SIZES))
def test_warp_size_macro(target):
    expect = WAVE_SIZES[target]
    src = _PROBE.format(common=read_source("common.h"), expect=expect)
    _compile_or_fail(f"warp-size probe ({target}, expect {expect})", src, target, kernels=["cq_probe_warp_size"])


@pytest.mark.parametrize("target", list(WAVE_SIZES))
def test_warp_size_probe_can_fail(target):
    """The probe's static_assert is really evaluated: the wrong width must not compile."""
    _need_compiler(target)
    wrong = 96 - WAVE_SIZES[target]  # 64 <-> 32
    src = _PROBE.format(common=read_source("common.h"), expect=wrong)
    res = compile_source(src, target, name="warp_probe_wrong.hip")
    assert not res.ok, f"{target}: a static_assert(CQ_WARP_SIZE == {wrong}) compiled"
    assert "CQ_WARP_SIZE" in res.log or "static" in res.log.lower(), res.log


# ------------------------------------- AMD resource check, shown able to fail
_SCRATCH_PROBE = """
extern "C" __global__ void __launch_bounds__(256) cq_probe_scratch(const int* in, int* out) {
    int a[64];  // indexed by a value known at run time only: scratch memory
    for (int i = 0; i < 64; ++i) a[i] = in[i] * 3;
    out[threadIdx.x] = a[in[64 + threadIdx.x] & 63];
}
extern "C" __global__ void __launch_bounds__(256) cq_probe_clean(const int* in, int* out) {
    out[threadIdx.x] = in[threadIdx.x] * 3;
}
"""


@pytest.mark.parametrize("target", AMD_TARGETS)
def test_amd_resource_check_can_fail(target):
    """A local array indexed at run time is reported as scratch; a launch
    larger than the kernel's bounds, and the other wavefront size, are
    reported too; a plain kernel has nothing to report."""
    _need_compiler(target)
    _need_msgpack()
    from cupyquant import amd_code_object
    res = compile_source(_SCRATCH_PROBE, target, name="scratch_probe.hip")
    assert res.ok, res.log
    meta = amd_code_object.kernels(res.code)
    wave = WAVE_SIZES[target]
    found = amd_code_object.problems(meta["cq_probe_scratch"], 256, wave)
    assert any("scratch" in p for p in found), (found, meta["cq_probe_scratch"])
    assert amd_code_object.problems(meta["cq_probe_clean"], 256, wave) == []
    assert any("workgroups of at most 256" in p for p in amd_code_object.problems(meta["cq_probe_clean"], 512, wave))
    assert any("wavefront size" in p for p in amd_code_object.problems(meta["cq_probe_clean"], 256, 96 - wave))


def test_amd_code_object_reader_refuses_other_files():
    from cupyquant import amd_code_object
    with pytest.raises(ValueError, match="ELF"):
        amd_code_object.metadata(b"__CLANG_OFFLOAD_BUNDLE__" + bytes(64))


# ------------------------------------------- cq_prmt is CUDA's __byte_perm
def byte_perm(a: int, b: int, s: int) -> int:
    """CUDA's __byte_perm(a, b, s) for selector nibbles below 8: byte n of
    the result is byte (s >> 4n) & 7 of the 8 bytes b:a, a the low word."""
    v = a | b << 32
    return sum(((v >> 8 * ((s >> 4 * n) & 7)) & 0xFF) << 8 * n for n in range(4))


_PRMT_A, _PRMT_B = 0x84736251, 0xC8B7A695   # eight distinct bytes, none zero
# Selectors of the sources (TQ1_0's digit selectors and their upper half,
# nonlinear.hip's 0x4440 | i) and the plain ones; bits above 15 are ignored.
_PRMT_SELECTORS = (0x3210, 0x7654, 0x7351, 0x0123, 0x4440, 0x4441, 0x4442, 0x4443,
                   0x54321054, 0x5432, 0x10541032, 0x1032)
_PRMT_PROBE = """
{common}
extern "C" __global__ void cq_probe_prmt(cq_u32* out) {{
{stores}
}}
"""


@pytest.mark.parametrize("target", AMD_TARGETS + CLANG_AMD_TARGETS)
def test_cq_prmt_is_cuda_byte_perm(target):
    """common.h's AMD cq_prmt (v_perm_b32 with the selector nibbles spread to
    bytes) gives CUDA's __byte_perm: on constants the compiler folds it, so
    every expected word stands in the build as a literal (in clang's
    assembly, or little-endian in hiprtc's machine code). LLVM's folding of
    the instruction is its model of the hardware's; no AMD GPU ran it."""
    import struct
    _need_compiler(target)
    stores = "\n".join(f"    out[{i}] = cq_prmt({_PRMT_A:#x}u, {_PRMT_B:#x}u, {s:#x}u);"
                       for i, s in enumerate(_PRMT_SELECTORS))
    res = compile_source(_PRMT_PROBE.format(common=read_source("common.h"), stores=stores), target,
                         name="prmt_probe.hip")
    assert res.ok, res.log
    assert byte_perm(_PRMT_A, _PRMT_B, 0x3210) == _PRMT_A and byte_perm(_PRMT_A, _PRMT_B, 0x7654) == _PRMT_B
    for s in _PRMT_SELECTORS:
        want = byte_perm(_PRMT_A, _PRMT_B, s)
        if res.assembly:
            assert re.search(rf"\b{want:#x}\b", res.assembly, re.I), (hex(s), hex(want))
        else:
            assert struct.pack("<I", want) in res.code, (hex(s), hex(want))


@pytest.mark.parametrize("target", NVIDIA_TARGETS)
def test_local_memory_check_can_fail(target):
    """At a bound of 8 thread blocks an SM (32 registers) Q6_K's kernels
    spill, and the log reader sees it; at their own bound they do not."""
    _need_compiler(target)
    from cupyquant import FORMATS
    src = FORMATS["Q6_K"].source
    kernels = expected_kernels("dequant Q6_K")
    verbose = kernel_resources.PTXAS_VERBOSE
    tight = compile_source(src, target, extra_options=(verbose, "-DCQ_TUNE_MIN_BLOCKS=8"))
    own = compile_source(src, target, extra_options=(verbose,))
    assert tight.ok and own.ok, tight.log + own.log
    found = kernel_resources.problems("dequant Q6_K", tight, target, kernels)
    assert found and all("local memory" in p[0] for p in found.values()), found
    assert any(any(kernel_resources.ptxas_local_memory(tight.log)[k]) for k in kernels), tight.log
    assert kernel_resources.problems("dequant Q6_K", own, target, kernels) == {}
