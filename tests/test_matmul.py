"""cupyquant.matmul: fused Q4_0 x @ W.T.

GPU tests compare every path with a float64 reference computed from the
dequantized weights (NumPy decoder), on fresh random inputs for each check,
with outputs poisoned (NaN) first. They are skipped cleanly without a GPU.
The argument checks at the top run without CuPy.
"""

from __future__ import annotations

import re
import types

import numpy as np
import pytest

from cupyquant import FORMATS, QuantizedTensor
from cupyquant.gpu.platform import cupy_module, device_info, gpu_available
from cupyquant.qmatmul import (MatmulFormatError, dequant_gemm, dispatch, matmul, matvec, mv_grid, mv_plan,
                               runtime as rt, wgmma as wg)
from cupyquant.testing import assert_bit_exact, bf16_bits

Q4_0 = FORMATS["Q4_0"]


def _spy_launches(monkeypatch, with_cluster: bool = False) -> list:
    """Record (kernel name, grid[, cluster]) of every launch of qmatmul (also
    of cached plans)."""
    launched = []
    real_launch = rt.launch

    def spy(kern, grid, *args, **kw):
        launched.append((kern.name, tuple(grid)) + ((kw.get("cluster"),) if with_cluster else ()))
        return real_launch(kern, grid, *args, **kw)
    monkeypatch.setattr(rt, "launch", spy)
    return launched


def _x_shared_everywhere(monkeypatch, on: bool) -> None:
    """The x_shared kernels wherever one column tile holds the activation
    rows (on), or nowhere: MV_X_SHARED_MAX set for both x dtypes."""
    limit = (1 << 20) if on else 0
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_MAX", {"float16": limit, "float32": limit})
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_MANY_TILES", {})


def _stub_kernel_builds(monkeypatch) -> None:
    """Plans without compiling: qmatmul.runtime._kernel_with_smem returns a stand-in
    that has only the kernel's name."""
    monkeypatch.setattr(rt, "_kernel_with_smem",
                        lambda cp, name, smem, function=None: types.SimpleNamespace(name=name))


def _look_like_sms(monkeypatch, sms: int) -> None:
    """Make the GPU look like ``sms`` SMs of one resident thread block each (so
    that persistent thread blocks take many tiles from their queue)."""
    real_info = rt.device_info
    monkeypatch.setattr(rt, "device_info", lambda dev: {**real_info(dev), "sm_count": sms})
    monkeypatch.setattr(rt, "_occupancy", lambda cp, kern, smem: 1)


def _xs_kind(name: str) -> str:
    """The x_shared suffix of a tensor-core matrix-vector kernel name ("_xs",
    "_xsq", their one-row variants "_xs1", "_xsq1", the queue kernels' builds
    that copy x with cp.async "_xsqc", "_xsq1c"), "" for the others; without
    a register bound ("b2", "b3": _reg_bound)."""
    found = re.search(r"_s\d+(_xsq?1?c?)(?:b\d)?$", name)
    return found.group(1) if found else ""


def _reg_bound(name: str) -> int | None:
    """The register bound of an x_shared kernel's build ("..._xsqb2" -> 2,
    "..._xs1b3" -> 3), None for the others."""
    found = re.search(r"_xsq?1?c?b(\d)$", name)
    return int(found.group(1)) if found else None


def test_quantized_tensor_read_only_flag():
    """QuantizedTensor is writable unless built read-only (load_gguf's are;
    the matrix-vector kernels then copy weights before the PDL wait)."""
    raw = np.zeros(8 * 2 * 18, np.uint8)
    assert QuantizedTensor("Q4_0", (8, 64), raw).read_only is False
    assert QuantizedTensor("Q4_0", (8, 64), raw, read_only=1).read_only is True


def test_public_name_stays_the_function():
    """``cupyquant.matmul`` is the function on every access, also after the
    implementation module was imported (a submodule of the same name used to
    replace it after the first call)."""
    import subprocess
    import sys
    code = ("import cupyquant, cupyquant.qmatmul\n"
            "a = cupyquant.matmul; b = cupyquant.matmul\n"
            "from cupyquant import matmul as c\n"
            "assert callable(a) and a is b is c is cupyquant.qmatmul.matmul, (a, b, c)\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def random_q4_0(rng, n_rows: int, k: int, scale: float = 0.02) -> np.ndarray:
    """Random Q4_0 blocks (uint8, n_rows * k / 32 * 18 bytes) with finite scales."""
    nb = n_rows * (k // 32)
    d = (rng.standard_normal(nb) * scale).astype(np.float16)
    raw = np.empty((nb, 18), np.uint8)
    raw[:, :2] = d.view(np.uint8).reshape(nb, 2)
    raw[:, 2:] = rng.integers(0, 256, (nb, 16), dtype=np.uint8)
    return raw.reshape(-1)


# ------------------------------------------------------- checks without CuPy
def test_rejects_non_quantized_weight():
    with pytest.raises(TypeError, match="w must be a cupyquant.QuantizedTensor, got ndarray"):
        matmul(np.zeros((2, 64), np.float32), np.zeros((8, 64), np.float32))


def test_rejects_other_formats():
    w = QuantizedTensor("Q8_0", (8, 64), np.zeros(8 * 2 * 34, np.uint8))
    with pytest.raises(MatmulFormatError, match="Q4_0 weights only, got Q8_0"):
        matmul(np.zeros((2, 64), np.float32), w)
    with pytest.raises(TypeError):  # MatmulFormatError is a TypeError too
        matmul(np.zeros((2, 64), np.float32), w)


def test_rejects_k_not_multiple_of_block():
    with pytest.raises(ValueError, match="last dimension 48 is not a multiple of Q4_0's block size 32"):
        QuantizedTensor("Q4_0", (8, 48), np.zeros(8 * 18, np.uint8))
    with pytest.raises(ValueError, match="last dimension 48 is not a multiple"):
        Q4_0.matmul(np.zeros((2, 48), np.float32), np.zeros(8 * 18, np.uint8), (8, 48))


def test_rejects_3d_weight_and_bad_path():
    w3 = QuantizedTensor("Q4_0", (2, 8, 64), np.zeros(2 * 8 * 2 * 18, np.uint8))
    with pytest.raises(ValueError, match=r"w must be 2-D \(N, K\), got shape \(2, 8, 64\)"):
        matmul(np.zeros((2, 64), np.float32), w3)
    w = QuantizedTensor("Q4_0", (8, 64), np.zeros(8 * 2 * 18, np.uint8))
    with pytest.raises(ValueError, match="path='cublas' picks a GPU kernel"):   # NumPy x: the host path
        matmul(np.zeros((2, 64), np.float32), w, path="cublas")
    with pytest.raises(ValueError, match="path must be None or one of matvec, mma, dequant_gemm, wgmma"):
        dispatch._check_args(None, w, None, None, "cublas")


def test_rejects_activations_that_are_no_array():
    """NumPy x runs on the host (tests/test_host_matmul.py); anything else is
    a TypeError naming both kinds of array."""
    w = QuantizedTensor("Q4_0", (8, 64), np.zeros(8 * 2 * 18, np.uint8))
    with pytest.raises(TypeError, match="CuPy array .* or a NumPy array"):
        matmul([[0.0] * 64], w)


def test_kernel_source_is_listed_for_offline_compile():
    from cupyquant import matmul_kernels as mk
    from cupyquant.offline_compile import all_sources
    src = all_sources().get("matmul Q4_0")
    assert src is not None and src == mk.matmul_source()
    assert mk.XPREP_NAME in src
    for rows, kb, st in mk.MV_GEOMETRIES:  # every geometry the host may launch is instantiated
        assert f"CQ_MV_TC_GEOM(ON, OT, {rows}, {kb}, {st})" in src
    for kb, st in mk.MVI8_GEOMETRIES:
        assert f"CQ_MVI8_GEOM({kb}, {st})" in src


def test_every_kernel_name_is_compiled():
    """all_kernel_names() / all_wgmma_kernel_names() (what the host launches)
    against the .entry names of each module's PTX (NVRTC, -G: PTX in ~2 s
    instead of the optimised build)."""
    import ctypes
    from cupyquant import matmul_kernels as mk
    from cupyquant.offline_compile import CompilerUnavailable, _compiler
    from cupyquant.testing import skip_or_fail_in_ci
    try:
        lib = _compiler("nvidia")[0]
    except (CompilerUnavailable, OSError, AttributeError) as e:
        skip_or_fail_in_ci(f"no NVRTC: {e} (pip install 'nvidia-cuda-nvrtc==13.*')")
    P = ctypes.c_void_p
    lib.nvrtcGetPTXSize.restype, lib.nvrtcGetPTXSize.argtypes = ctypes.c_int, [P, ctypes.POINTER(ctypes.c_size_t)]
    lib.nvrtcGetPTX.restype, lib.nvrtcGetPTX.argtypes = ctypes.c_int, [P, ctypes.c_char_p]
    for source, arch, names in [(mk.matmul_source(), b"compute_90", mk.all_kernel_names()),
                                (mk.matmul_sm90_source(), b"compute_90a", mk.all_wgmma_kernel_names())]:
        prog = P()
        assert lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"matmul.hip", 0, None, None) == 0
        try:
            opts = [b"--gpu-architecture=" + arch, b"--std=c++17", b"-G"]
            rc = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
            if rc != 0:  # the compiler's own words (NVRTC 13.0 refused a generic lambda here, session 22)
                size = ctypes.c_size_t()
                lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
                log = ctypes.create_string_buffer(max(size.value, 1))
                lib.nvrtcGetProgramLog(prog, log)
                pytest.fail(f"NVRTC failed ({rc}) on {arch.decode()}:\n{log.value.decode(errors='replace')[-3000:]}")
            size = ctypes.c_size_t()
            assert lib.nvrtcGetPTXSize(prog, ctypes.byref(size)) == 0
            buf = ctypes.create_string_buffer(size.value)
            assert lib.nvrtcGetPTX(prog, buf) == 0
        finally:
            lib.nvrtcDestroyProgram(ctypes.byref(prog))
        ptx = buf.value.decode()
        entries = set(re.findall(r"\.entry\s+(\w+)", ptx))
        missing = set(names) - entries
        assert not missing, sorted(missing)
        if arch == b"compute_90a":  # the wgmma kernels are real there, not empty bodies
            assert "wgmma.mma_async" in ptx


# ------------------------------------- int8 matrix-vector: NumPy emulation (CPU)
def _ref64(raw, n, k, x):
    w64 = Q4_0.decode(raw).reshape(n, k).astype(np.float64)
    with np.errstate(invalid="ignore", over="ignore"):
        return np.asarray(x, np.float64) @ w64.T


def _adversarial_x(rng, m, k, dtype):
    """Activations that stress the per-block fixed point: an outlier block
    (1e4 among 1e-3), all-zero blocks, float16 subnormals, and (float32) blocks
    of 1e30, 1e-30 and subnormal (~1e-40) magnitudes side by side."""
    x = (rng.standard_normal((m, k)) * 1e-3).astype(np.float64)
    nb = k // 32
    x[:, 5 % k] = 1e4                                      # outlier in block 0
    x[:, 32:64] = 0.0 if nb > 1 else x[:, 32:64]           # a zero block
    if nb > 3:
        sub = rng.integers(1, 1024, (m, 32)) * 2.0 ** -24  # float16 subnormals
        x[:, 96:128] = sub * rng.choice([-1, 1], (m, 32))
    if dtype == np.float32 and nb > 5:
        x[:, 128:160] = rng.standard_normal((m, 32)) * 1e30
        x[:, 160:192] = rng.standard_normal((m, 32)) * 1e-30
    if dtype == np.float32 and nb > 6:
        x[:, 192:224] = rng.standard_normal((m, 32)) * 1e-40
    return x.astype(dtype)


def test_f32_as_f16x2_representation():
    """The float32 activations' two float16 parts (cupyquant.testing's model
    of the kernels' split): every scaled value lands below 2^15 with the
    row's largest in [2^14, 2^15), and (hi + lo) 2^-s is x to within
    2^-23 |x| plus 2^-25 2^-s (half of float16's smallest subnormal, scaled
    back), over rows of 1e-30 .. 1e30 magnitudes, outliers, zeros and rows
    spread over 1e-20 .. 1e20; a row with Inf or NaN keeps s = 0 and has NaN
    among its parts (so its products are NaN)."""
    from cupyquant.testing import f32_as_f16x2
    rng = np.random.default_rng(29)
    k = 4096
    rows = [rng.standard_normal(k) * 10.0 ** e for e in (-30, -3, 0, 5, 30)]
    rows.append(rng.standard_normal(k) * 10.0 ** rng.uniform(-20, 20, k))
    rows.append(_adversarial_x(rng, 1, k, np.float32)[0].astype(np.float64))
    x = np.stack(rows).astype(np.float32)
    x[np.abs(x) < np.finfo(np.float32).tiny] = 0.0  # the kernels flush float32 subnormals
    hi, lo, s = f32_as_f16x2(x)
    v = x.astype(np.float64) * 2.0 ** s[:, None]
    top = np.abs(v).max(axis=1)
    assert ((top >= 2.0 ** 14) & (top < 2.0 ** 15)).all(), top
    back = (hi.astype(np.float64) + lo.astype(np.float64)) * 2.0 ** -s[:, None]
    bound = 2.0 ** -23 * np.abs(x.astype(np.float64)) + 2.0 ** (-25 - s[:, None])
    assert (np.abs(back - x) <= bound).all()
    zero = np.zeros((1, 64), np.float32)
    assert f32_as_f16x2(zero)[2].tolist() == [0]
    bad = rng.standard_normal((3, 64)).astype(np.float32)
    bad[0, 3], bad[1, 9], bad[2, 20] = np.nan, np.inf, -np.inf
    hi, lo, s = f32_as_f16x2(bad)
    assert s.tolist() == [0, 0, 0]
    assert np.isnan(hi.astype(np.float32) + lo.astype(np.float32)).any(axis=1).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
@pytest.mark.parametrize("n,k,m,splits", [(100, 32, 1, 1), (70, 512, 3, 1), (70, 512, 2, 3),
                                          (40, 4096 + 96, 8, 5), (33, 288, 5, 2)])
def test_mvi8_emulation_random(n, k, m, splits, dtype):
    from cupyquant.testing import mvi8_matvec
    rng = np.random.default_rng(n * k + m)
    raw = random_q4_0(rng, n, k)
    x = rng.standard_normal((m, k)).astype(dtype)
    y = mvi8_matvec(raw, n, k, x, splits=splits)
    assert y.dtype == np.float32 and y.shape == (m, n)
    err = _rel_err(y, _ref64(raw, n, k, x))
    assert err <= 1e-6, err


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_mvi8_emulation_adversarial(dtype):
    from cupyquant.testing import mvi8_matvec
    rng = np.random.default_rng(7)
    n, k = 50, 512
    raw = random_q4_0(rng, n, k)
    for m in (1, 4):
        x = _adversarial_x(rng, m, k, dtype)
        for splits in (1, 2):
            y = mvi8_matvec(raw, n, k, x, splits=splits)
            err = _rel_err(y, _ref64(raw, n, k, x))
            assert err <= 1e-6, (m, splits, err)
    # every activation tiny / huge: the exponents carry the scale
    for scale in ((1e-30, 1e30) if dtype == np.float32 else (2.0 ** -20, 2.0 ** 10)):
        x = (rng.standard_normal((3, k)) * scale).astype(dtype)
        y = mvi8_matvec(raw, n, k, x)
        assert np.isfinite(y).all()
        err = _rel_err(y, _ref64(raw, n, k, x))
        assert err <= 1e-6, (scale, err)


def test_mvi8_prep_representation():
    """Exponents, limbs and corrections: the fixed point X is rint(x 2^s) (or
    2^(s-4)), the limbs are balanced base-256 digits of X, max |X| in [2^29, 2^30],
    the error bounds of the module docstring hold, and -KK's exponent is 2^(23-s)."""
    from cupyquant.testing import mvi8_prep
    rng = np.random.default_rng(3)
    k = 512
    for dtype in (np.float32, np.float16):
        x = _adversarial_x(rng, 5, k, dtype)
        p = mvi8_prep(x)
        xs = x.astype(np.float64).reshape(5, k // 32, 32)
        s = p["s"][:5]
        X = p["X"][:5]
        L = p["limbs"][:5]
        assert L.min() >= -128 and L.max() <= 127 and np.abs(L[:, :, 0]).max() <= 64
        assert (np.einsum("mbjk,j->mbk", L, 256 ** np.arange(3, -1, -1)) == X).all()
        amax = np.abs(xs).max(-1)
        nz = amax > 0
        assert (np.abs(X[:, :, :16]).max(-1)[nz] <= 2 ** 30).all()
        scaled_max = (amax * np.ldexp(1.0, s))[nz]
        assert ((scaled_max >= 2 ** 29) | (s[nz] == 149)).all() and (scaled_max < 2 ** 30).all()
        err = np.abs(X * np.ldexp(1.0, -(s[..., None] - np.where(np.arange(32) < 16, 0, 4))) - xs)
        bound = amax[..., None] * np.where(np.arange(32) < 16, 2.0 ** -30, 2.0 ** -26)
        capped = (s == 149)[..., None]  # max |x| < 2^-120: float32 values are multiples of 2^-149
        bound = np.where(capped, np.where(np.arange(32) < 16, 0.0, 2.0 ** -146), bound)
        assert (err <= bound).all()
        if dtype == np.float32:
            assert capped.any()  # the subnormal block
        negkk = p["negkk"][:5].astype(np.int64)
        assert ((negkk >> 31) == 1).all()
        assert (((negkk >> 23) & 255) == 150 - s[..., None]).all()


def test_mvi8_emulation_nonfinite():
    """NaN / Inf in d give non-finite outputs exactly where the float64
    reference is non-finite; non-finite activations make their row NaN."""
    from cupyquant.testing import SPECIAL_F16, mvi8_matvec
    rng = np.random.default_rng(11)
    n, k = 60, 256
    raw = random_q4_0(rng, n, k).reshape(-1, 18)
    bad_rows = [3, 17, 41]
    for r, v in zip(bad_rows, [0x7E00, 0x7C00, 0xFC00]):
        blk = r * (k // 32) + 2
        raw[blk, 0], raw[blk, 1] = v & 0xFF, v >> 8
    raw = raw.reshape(-1)
    assert SPECIAL_F16[0] == 0x7E00
    for dtype in (np.float32, np.float16):
        x = rng.standard_normal((3, k)).astype(dtype)
        y = mvi8_matvec(raw, n, k, x)
        ref = _ref64(raw, n, k, x)
        assert (np.isfinite(y) == np.isfinite(ref)).all()
        assert (~np.isfinite(y)).any(axis=0).nonzero()[0].tolist() == bad_rows
        fin = np.isfinite(ref)
        assert np.linalg.norm(y[fin] - ref[fin]) <= 1e-6 * np.linalg.norm(ref[fin])
    raw_ok = random_q4_0(rng, n, k)
    x = rng.standard_normal((3, k)).astype(np.float32)
    x[1, 40] = np.inf
    y = mvi8_matvec(raw_ok, n, k, x)
    assert np.isnan(y[1]).all() and np.isfinite(y[[0, 2]]).all()


# ------------------------------------------------------------------ GPU tests
gpu = pytest.mark.skipif(not gpu_available(), reason="no usable GPU (CuPy)")


def _rel_err(y, ref) -> float:
    y = np.asarray(y, np.float64)
    return float(np.linalg.norm(y - ref) / np.linalg.norm(ref))


class _Case:
    """A weight on the device plus its float64 dequantized copy."""

    def __init__(self, rng, n, k, offset=0):
        cp = cupy_module()
        raw = random_q4_0(rng, n, k)
        self.w64 = Q4_0.decode(raw).reshape(n, k).astype(np.float64)
        if offset:  # blocks at an odd / unaligned address (byte-copy kernels)
            big = cp.zeros(raw.size + offset, dtype=cp.uint8)
            big[offset:] = cp.asarray(raw)
            data = big[offset:]
        else:
            data = cp.asarray(raw)
        self.w = QuantizedTensor("Q4_0", (n, k), data)
        self.n, self.k = n, k


_cases: dict = {}


def case(n, k, offset=0) -> _Case:
    key = (n, k, offset)
    if key not in _cases:
        _cases[key] = _Case(np.random.default_rng(hash(key) & 0xFFFF), n, k, offset)
    return _cases[key]


def run_check(c: _Case, m, x_dtype, path, rng, out_dtype=None, use_out=True, lead=None):
    cp = cupy_module()
    shape = (m, c.k) if lead is None else tuple(lead) + (c.k,)
    x_host = rng.standard_normal(shape).astype(x_dtype)
    x = cp.asarray(x_host)
    res_dtype = np.dtype(x_dtype if out_dtype is None else out_dtype)
    out = None
    if use_out:
        out = cp.full(shape[:-1] + (c.n,), np.nan, dtype=res_dtype)
        y = matmul(x, c.w, out=out, dtype=out_dtype, path=path)
        assert y is out
    else:
        # The result is allocated by matmul: fill a block of its size with NaN
        # and give it back first, so that CuPy's pool most likely hands that
        # block out for it (a kernel that writes nothing then shows as NaN,
        # not as an earlier call's result).
        poison = cp.full(shape[:-1] + (c.n,), np.nan, dtype=res_dtype)
        del poison
        y = matmul(x, c.w, dtype=out_dtype, path=path)
    assert y.shape == shape[:-1] + (c.n,)
    assert y.dtype == res_dtype
    yh = cp.asnumpy(y.astype(cp.float32)).astype(np.float64).reshape(-1, c.n)
    assert np.isfinite(yh).all(), "some outputs were not written"
    ref = x_host.astype(np.float64).reshape(-1, c.k) @ c.w64.T
    return _rel_err(yh, ref)


def tolerance(path, x_dtype, out_dtype):
    res = np.dtype(x_dtype if out_dtype is None else out_dtype)
    if res == np.float16:
        tol_out = 2e-3   # float16 result rounding alone is ~3e-4
    elif res.name == "bfloat16":
        tol_out = 1e-2
    else:
        tol_out = 0.0
    if path in ("matvec", "matvec_generic", "matvec_int8", "matvec_f16tc"):
        tol = 1e-5
    else:  # float16 activations / weights, float32 accumulation
        tol = 2e-3
    return max(tol, tol_out)


MS = [1, 2, 3, 8, 17, 512]
N_ODD = 4096 + 37  # a multiple of no tile size (16, 64, 128)


@gpu
@pytest.mark.parametrize("x_dtype", ["float32", "float16"])
@pytest.mark.parametrize("m", MS)
@pytest.mark.parametrize("path", ["matvec", "mma", "dequant_gemm", "wgmma", None])
def test_paths_accuracy(path, m, x_dtype):
    _need_wgmma(path)
    rng = np.random.default_rng()
    c = case(N_ODD, 512)
    err = run_check(c, m, x_dtype, path, rng)
    assert err <= tolerance(path, x_dtype, None), err
    if path == "matvec" or (path is None and m <= 8):
        # float32 result: the matrix-vector path itself is float32-accurate
        err32 = run_check(c, m, x_dtype, path, rng, out_dtype="float32")
        assert err32 <= 1e-5, err32


@gpu
@pytest.mark.parametrize("x_dtype", ["float32", "float16"])
@pytest.mark.parametrize("m", [1, 3, 8, 17])
@pytest.mark.parametrize("path", ["matvec_generic", "mma_generic"])
def test_portable_kernels(path, m, x_dtype):
    rng = np.random.default_rng()
    c = case(N_ODD, 512)
    err = run_check(c, m, x_dtype, path, rng, out_dtype="float32")
    assert err <= tolerance(path, x_dtype, "float32"), err


@gpu
@pytest.mark.parametrize("n,k,offset", [(1000, 4096, 0),     # split-K on the matrix-vector path
                                         (300, 800, 0),      # rows not 16-byte multiples
                                         (250, 288, 1),      # weights at an odd address
                                         (77, 32, 0)])       # one block per row
@pytest.mark.parametrize("path", ["matvec", "mma", "matvec_generic", "mma_generic", "matvec_int8", "matvec_f16tc"])
@pytest.mark.parametrize("m", [1, 5, 16, 130])
def test_shapes_and_alignment(n, k, offset, path, m):
    _need_tensor_cores(path)
    rng = np.random.default_rng()
    c = case(n, k, offset)
    for x_dtype in ("float32", "float16"):
        err = run_check(c, m, x_dtype, path, rng, out_dtype="float32")
        assert err <= tolerance(path, x_dtype, "float32"), (x_dtype, err)


@gpu
@pytest.mark.parametrize("n,k,offset", [(N_ODD, 512, 0), (1000, 4096, 0), (300, 800, 0), (250, 288, 1)])
@pytest.mark.parametrize("m", [1, 2, 5])
@pytest.mark.parametrize("x_shared", [False, True])
def test_matvec_f16tc_x_shared_or_not(n, k, offset, m, x_shared, monkeypatch):
    """The float16 tensor-core matrix-vector kernel with its activations read
    from global memory (prepared by cq_q4_0_xprep_f16x2 for float32 x) and
    the x_shared variant (copied into shared memory by each persistent thread
    block, float32 x split there, tiles from a queue): both float32-accurate,
    each launched where MV_X_SHARED_MAX says (x_shared: one column tile,
    float16 x up to 8 rows, float32 x, two columns a row, up to 4), and the
    queue's counters left zero for the next
    launch (the second run of each case goes through them again)."""
    _need_tensor_cores("matvec_f16tc")
    _x_shared_everywhere(monkeypatch, x_shared)
    launched = _spy_launches(monkeypatch)
    rng = np.random.default_rng()
    c = case(n, k, offset)
    for x_dtype in ("float32", "float16", "float32", "float16"):
        launched.clear()
        err = run_check(c, m, x_dtype, "matvec_f16tc", rng, out_dtype="float32")
        assert err <= 1e-5, (x_dtype, err)
        fits = m <= (4 if x_dtype == "float32" else 8)
        one_row = m == 1 and x_dtype == "float16"  # the one-row kernel ("_xs1")
        assert _xs_kind(launched[-1][0]) == (("_xs1" if one_row else "_xs") if x_shared and fits else ""), \
            (x_dtype, launched)
    counters = rt._counters.get((cupy_module().cuda.Device().id, cupy_module().cuda.get_current_stream().ptr))
    if counters is not None:
        assert int(counters.sum()) == 0, "tile / queue counters not left zero"


@gpu
@pytest.mark.parametrize("n,expect_xs", [(1000, False), (30_000, True)])
def test_matvec_large_x_shared_records_where_tiles_are_many(n, expect_xs, monkeypatch):
    """float16 x, M = 8, K = 4096: 64 KiB of x_shared records a thread block.
    The default rule (MV_X_SHARED_MANY_TILES) takes the x_shared kernel only
    where there are more tiles than resident thread blocks (N = 30000: 1875
    tiles), and the kernel that reads x from global memory otherwise (N =
    1000: 63 tiles); both float32-accurate."""
    _need_tensor_cores("matvec_f16tc")
    launched = []
    real_launch = rt.launch

    def spy(kern, *args, **kw):
        launched.append(kern.name)
        return real_launch(kern, *args, **kw)
    monkeypatch.setattr(rt, "launch", spy)
    c = case(n, 4096, 0)
    err = run_check(c, 8, "float16", "matvec_f16tc", np.random.default_rng(), out_dtype="float32")
    assert err <= 1e-5, err
    # x_shared with a queue (N = 30000: more tiles than resident thread blocks), at 8 rows
    # its build that copies x with cp.async: "_xsqc"
    assert _xs_kind(launched[-1]) == ("_xsqc" if expect_xs else ""), launched
    assert ("_xs" in launched[-1]) == expect_xs, launched


@gpu
@pytest.mark.parametrize("n,k,offset,m", [(3001, 2048, 0, 1),   # one stage a tile
                                          (3001, 4096, 0, 1),   # two
                                          (3001, 4352, 0, 2),   # three, the last one partial
                                          (3001, 4096, 1, 1),   # odd address: no next-tile copies
                                          (155, 8192, 0, 2),    # K split in two, each with a queue
                                          # eight float16 rows: x copied raw with cp.async, the
                                          # records made in shared memory ("_xsqc")
                                          (3001, 4096, 0, 8),
                                          (3001, 4352, 0, 8),
                                          (3001, 4096, 1, 8),
                                          (155, 8192, 0, 8)])
def test_matvec_x_shared_tile_queue(n, k, offset, m, monkeypatch):
    """Persistent x_shared thread blocks that take many tiles from the queue
    (the GPU made to look like 16 SMs of one resident thread block): with
    float16 x the "_xsq" kernel, whose two-stage ring runs on from one tile
    into the next (the next tile's first stage is copied during this tile's
    last; not where the weights are not 16-byte aligned), also with float32
    x (one column tile: up to 4 rows) within MV_F32_QUEUE_ROWS, the "_xs"
    kernel outside; float32-accurate, counters left zero."""
    _need_tensor_cores("matvec_f16tc")
    _look_like_sms(monkeypatch, 16)
    monkeypatch.setattr(matvec, "_mv_plans", {})
    monkeypatch.setattr(mv_plan, "MV_BLOCKS_PER_SM_LONG_K", 1.5)  # K = 8192: two splits (the model would not split)
    # x_shared (16, 64, 2) for every case here, also float32 x with records over 32 KiB
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_MAX", {"float16": 1 << 20, "float32": 1 << 20})
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_ANY", 1 << 20)
    launched = _spy_launches(monkeypatch)
    rng = np.random.default_rng()
    c = case(n, k, offset)
    tiles = -(-n // 16)
    for x_dtype in ("float16", "float32", "float16") if m <= 4 else ("float16", "float16"):
        launched.clear()
        err = run_check(c, m, x_dtype, "matvec_f16tc", rng, out_dtype="float32")
        assert err <= 1e-5, (x_dtype, err)
        name, (grid_x, splits) = launched[-1]
        kind = ("_xsq1" if m == 1 else "_xsqc" if m >= mv_plan.MV_XS_COPY_FILL_FROM_M else "_xsq") \
            if x_dtype == "float16" else "_xsq" if mv_plan._mv_queue_kernel(np.dtype(x_dtype), m) else "_xs"
        assert re.search("_s2" + kind + r"(b\d)?$", name) and grid_x < tiles, launched  # (any register bound)
        assert splits == (2 if k == 8192 else 1), launched
    counters = rt._counters.get((cupy_module().cuda.Device().id, cupy_module().cuda.get_current_stream().ptr))
    assert int(counters.sum()) == 0, "tile / queue counters not left zero"


def _unbounded_occupancy(name: str, cols: int, k: int, splits: int) -> int:
    """Thread blocks an SM of the build without a register bound of the
    x_shared (16, 64, 2) launch ``name``, with the records of ``cols`` B
    columns over one of ``splits`` K splits: what a bounded build must match."""
    import cupyquant.matmul_kernels as mk
    cp = cupy_module()
    geo = mk.MV_GEOMETRIES[1]
    stages = -(-(k // 32) // geo[1])
    smem = mk.mv_x_shared_offset(*geo) + mk.mv_x_shared_bytes(cols, -(-stages // splits) * geo[1])
    unbounded = name[:-2] if _reg_bound(name) else name
    return rt._occupancy(cp, rt._kernel_with_smem(cp, unbounded, smem), smem)


def _queue_reg_bound_expected(name: str, cols: int, k: int) -> int | None:
    """The register bound a queue kernel's launch ``name`` must have (one K
    split): the unbounded build's occupancy where that is one of
    mk.MV_QUEUE_REG_BOUNDS, else None."""
    import cupyquant.matmul_kernels as mk
    per_sm = _unbounded_occupancy(name, cols, k, 1)
    return per_sm if per_sm in mk.MV_QUEUE_REG_BOUNDS else None


def _knob_on_off_same_bits(monkeypatch, knob: str, x, c, launched: list, check) -> np.ndarray:
    """matmul(x, c.w) on the matrix-vector tensor-core path with mv_plan's
    ``knob`` on, then off: check(on, kernel name, grid) on each launch,
    float32-accurate results (poisoned output first), the same bits both
    ways. Returns that result (on the host)."""
    cp = cupy_module()
    m, n = x.shape[0], c.n
    ref = cp.asnumpy(x).astype(np.float64) @ c.w64.T
    ys = {}
    for on in (True, False):
        monkeypatch.setattr(mv_plan, knob, on)
        launched.clear()
        y = matmul(x, c.w, out=cp.full((m, n), np.nan, dtype=cp.float32), path="matvec_f16tc")
        check(on, *launched[-1])
        ys[on] = cp.asnumpy(y)
        assert _rel_err(ys[on], ref) <= 1e-5, on
    assert np.array_equal(ys[True], ys[False]), f"bits differ with {knob} on and off"
    return ys[True]


def _f32_matvec_case(monkeypatch, n: int, offset: int, m: int, queue_rows: tuple):
    """The float32-x matrix-vector tests' setup: fresh plans, float32 x on
    the queue kernel for ``queue_rows`` (MV_F32_QUEUE_ROWS), launches
    spied; returns (launched, case of n x 4096, x of m random rows)."""
    _need_tensor_cores("matvec_f16tc")
    cp = cupy_module()
    monkeypatch.setattr(matvec, "_mv_plans", {})
    monkeypatch.setattr(mv_plan, "MV_F32_QUEUE_ROWS", queue_rows)
    k = 4096
    x = cp.asarray(np.random.default_rng().standard_normal((m, k)).astype(np.float32))
    return _spy_launches(monkeypatch), case(n, k, offset), x


@gpu
@pytest.mark.parametrize("n,k,offset", [(30001, 4096, 0), (30001, 4096, 1)])
@pytest.mark.parametrize("m", [3, 4, 6, 8])
def test_matvec_queue_reg_bound_kernels(n, k, offset, m, monkeypatch):
    """float16 x, several rows, more 16-row tiles than resident thread
    blocks: the queue kernels' builds with registers for the thread blocks
    an SM that their records allow, where that is 2 or 3 ("_xsqb3",
    "_xsqb2", "_xsqcb2", ...; on an H100 / H200 3-4 rows take b3, 5-8 b2):
    float32-accurate, the same bits as the build of CQ_MV_MIN_BLOCKS
    (MV_XS_QUEUE_REG_BOUND off; the same arithmetic, other registers), the
    counters left zero; also with unaligned weights (odd offset: no next-tile
    copies)."""
    _need_tensor_cores("matvec_f16tc")
    cp = cupy_module()
    monkeypatch.setattr(matvec, "_mv_plans", {})
    launched = _spy_launches(monkeypatch)
    c = case(n, k, offset)
    x = cp.asarray(np.random.default_rng().standard_normal((m, k)).astype(np.float16))

    def check(bound_on, name, grid):
        grid_x, splits = grid
        assert _xs_kind(name) == ("_xsqc" if m >= mv_plan.MV_XS_COPY_FILL_FROM_M else "_xsq"), launched
        assert splits == 1 and grid_x < -(-n // 16), launched
        if bound_on:
            assert _reg_bound(name) == _queue_reg_bound_expected(name, m, k), launched
        else:
            assert _reg_bound(name) is None, launched
    _knob_on_off_same_bits(monkeypatch, "MV_XS_QUEUE_REG_BOUND", x, c, launched, check)
    counters = rt._counters.get((cp.cuda.Device().id, cp.cuda.get_current_stream().ptr))
    assert int(counters.sum()) == 0, "tile / queue counters not left zero"


@gpu
@pytest.mark.parametrize("n,offset", [(30001, 0), (30001, 1), (4001, 0)])
@pytest.mark.parametrize("m", [1, 2, 3])
def test_matvec_unqueued_reg_bound_kernels(n, offset, m, monkeypatch):
    """float32 x on the x_shared kernel without a queue ("_xs"): its builds
    with registers for as many thread blocks an SM as its records allow,
    where that is 3 and the grid fills them ("_xsb3"; M = 2 on
    30001 x 4096 on an H100 / H200: 3), else its own (4001 x 4096: 251
    thread blocks): float32-accurate, the same bits as the build of
    CQ_MV_MIN_BLOCKS (MV_XS_UNQUEUED_REG_BOUND off); also with unaligned
    weights (odd offset). Float32 x kept off the queue kernel
    (MV_F32_QUEUE_ROWS: test_matvec_f32_queue_kernels)."""
    launched, c, x = _f32_matvec_case(monkeypatch, n, offset, m, (0, 0))
    import cupyquant.matmul_kernels as mk
    cp = cupy_module()
    k = c.k
    sms = device_info(cp.cuda.Device().id)["sm_count"]

    def check(bound_on, name, grid):
        grid_x, splits = grid
        # x_shared of (16, 64, 2) (3 rows: x_shared where MV_X_SHARED_MAX allows, maybe of (16, 32, 3))
        x_shared = _xs_kind(name) == "_xs" and "_r16_k64_s2_" in name
        assert x_shared or m == 3, launched
        if bound_on and x_shared:
            per_sm = _unbounded_occupancy(name, m * mk.MV_F32_PARTS, k, splits)  # the grid must fill it
            want = per_sm if per_sm in mk.MV_F32_REG_BOUNDS and grid_x * splits >= per_sm * sms else None
            assert _reg_bound(name) == want, (launched, per_sm)
            if sms in (114, 132) and m == 2:  # H100 / H200
                assert _reg_bound(name) == (3 if n == 30001 else None), (launched, per_sm)
        else:
            assert _reg_bound(name) is None, launched
    _knob_on_off_same_bits(monkeypatch, "MV_XS_UNQUEUED_REG_BOUND", x, c, launched, check)


@gpu
@pytest.mark.parametrize("n,offset", [(30001, 0), (30001, 1)])
@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_matvec_f32_queue_kernels(n, offset, m, monkeypatch):
    """float32 x, more 16-row tiles than resident thread blocks: the queue
    kernel ("_xsq", MV_F32_QUEUE_ROWS) with records of up to
    MV_X_SHARED_MANY_TILES (64 KiB at M = 4, K = 4096) on (16, 64, 2), on
    its build with registers for the thread blocks an SM the records allow
    where that is 2 or 3: float32-accurate, the same bits as the build of
    CQ_MV_MIN_BLOCKS (MV_XS_QUEUE_REG_BOUND off), counters left zero, and
    within float32 roundings of the plan without the queue
    (MV_XS_QUEUE_KERNEL float16 only); also with unaligned weights."""
    launched, c, x = _f32_matvec_case(monkeypatch, n, offset, m, (1, 4))
    import cupyquant.matmul_kernels as mk
    cp = cupy_module()
    k = c.k

    def check(bound_on, name, grid):
        grid_x, splits = grid
        assert _xs_kind(name) == "_xsq" and "_r16_k64_s2_" in name, launched
        assert splits == 1 and grid_x < -(-n // 16), launched
        if bound_on:
            assert _reg_bound(name) == _queue_reg_bound_expected(name, m * mk.MV_F32_PARTS, k), launched
        else:
            assert _reg_bound(name) is None, launched
    y_queue = _knob_on_off_same_bits(monkeypatch, "MV_XS_QUEUE_REG_BOUND", x, c, launched, check)
    counters = rt._counters.get((cp.cuda.Device().id, cp.cuda.get_current_stream().ptr))
    assert int(counters.sum()) == 0, "tile / queue counters not left zero"
    monkeypatch.setattr(mv_plan, "MV_XS_QUEUE_KERNEL", ("float16",))
    launched.clear()
    y_other = cp.asnumpy(matmul(x, c.w, out=cp.full((m, n), np.nan, dtype=cp.float32), path="matvec_f16tc"))
    assert "_xsq" not in launched[-1][0], launched
    scale = np.abs(y_other).max()
    assert np.abs(y_queue - y_other).max() <= 1e-5 * scale, "queue and former plan disagree"


@gpu
@pytest.mark.parametrize("n,k,kind,geo,new", [(8192 + 3, 14336, "_xsq", "_r16_k64_s2_", True),
                                             (4096, 14336, "_xs", "_r16_k64_s2_", True),
                                             (4096, 9216, "_xs", "_r16_k32_s3_", False)])
def test_matvec_f32_one_row_long_k(n, k, kind, geo, new, monkeypatch):
    """One float32 row at long K (records over MV_X_SHARED_ANY): the queue
    kernel where the tiles are MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS rounds of its
    thread blocks (8195 rows), on one wave the x_shared kernel of (16, 64, 2)
    where (16, 32, 3) fits no more thread blocks (K = 14336), else of
    (16, 32, 3) (K = 9216, as before; kernels as on an H100 / H200):
    float32-accurate, outputs poisoned first, and within float32 roundings
    of the session 39 plan (both rules off: x from global memory, or
    (16, 32, 3))."""
    _need_tensor_cores("matvec_f16tc")
    cp = cupy_module()
    launched = _spy_launches(monkeypatch)
    c = case(n, k)
    x_host = np.random.default_rng().standard_normal((1, k)).astype(np.float32)
    x = cp.asarray(x_host)
    h100_or_h200 = device_info(cp.cuda.Device().id)["sm_count"] in (114, 132)
    ys = []
    for rules in (True, False):
        monkeypatch.setattr(matvec, "_mv_plans", {})
        if not rules:
            monkeypatch.setattr(mv_plan, "MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS", 0)
            monkeypatch.setattr(mv_plan, "_mv_small_ring_more_resident", lambda *args: True)
        y = cp.asnumpy(matmul(x, c.w, out=cp.full((1, n), np.nan, dtype=cp.float32), path="matvec_f16tc"))
        assert _rel_err(y, x_host.astype(np.float64) @ c.w64.T) <= 1e-5, (rules, launched)
        ys.append(y)
        name = launched[-1][0]
        if h100_or_h200:  # the rules' plan, and another without them
            assert (_xs_kind(name) == kind and geo in name) == (rules or not new), launched
    assert np.abs(ys[0] - ys[1]).max() <= 1e-5 * np.abs(ys[1]).max(), "the plans disagree"


@gpu
@pytest.mark.parametrize("n,k,offset,sms", [(N_ODD, 4096, 0, 0),    # a thread block a tile
                                            (3001, 4096, 0, 16),    # a queue, next-tile copies
                                            (3001, 4352, 1, 16),    # odd address, last stage partial
                                            (180, 4096, 0, 16),     # 2 splits of 8 blocks, 12 tiles: "_xsq1c"
                                            (200, 14336, 0, 0),     # K split (clusters where usable)
                                            (250, 288, 1, 0)])      # nine blocks: one partial stage
def test_matvec_one_row_kernels(n, k, offset, sms, monkeypatch):
    """One float16 activation row on the x_shared kernels' one-row variants
    ("_xs1", "_xsq1": one B column's accumulators, even blocks' quants read
    in the aligned k order, their x records in the same order): float32-
    accurate, and within a few float32 roundings of the generic kernels
    (MV_ONE_ROW_KERNEL off) on the same inputs (the session-23 probe saw
    equal bits in every case; not relied on, since the k positions inside
    an mma differ). ``sms``: the GPU made to look like that many SMs of one
    resident thread block (tiles from a queue): then also "_xsq1c" (x copied
    with each stage's weights by cp.async), forced on and off, and what the
    default MV_ONE_ROW_COPY_FILL_BAND picks."""
    _need_tensor_cores("matvec_f16tc")
    cp = cupy_module()
    if sms:
        _look_like_sms(monkeypatch, sms)
    monkeypatch.setattr(matvec, "_mv_plans", {})
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_MAX", {"float16": 1 << 20})
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_ANY", 1 << 20)
    monkeypatch.setattr(mv_plan, "MV_BLOCKS_PER_SM", 4.0)  # split the small grids where K allows
    launched = _spy_launches(monkeypatch)
    rng = np.random.default_rng()
    c = case(n, k, offset)
    tiles = -(-n // 16)
    for _ in range(2):  # fresh inputs each round
        x = cp.asarray(rng.standard_normal((1, k)).astype(np.float16))
        ref = cp.asnumpy(x).astype(np.float64) @ c.w64.T
        ys = {}
        # (one-row kernel, MV_ONE_ROW_COPY_FILL_BAND, copy fill expected: None where the
        # default decides, from the grid); the generic kernel last
        default = mv_plan.MV_ONE_ROW_COPY_FILL_BAND
        variants = [(True, (0, 0), False), (True, (0, 1e9), True), (True, default, None)] if sms \
            else [(True, default, False)]
        for one_row, copy_tiles, copy_fill in variants + [(False, default, False)]:
            monkeypatch.setattr(mv_plan, "MV_ONE_ROW_KERNEL", one_row)
            monkeypatch.setattr(mv_plan, "MV_ONE_ROW_COPY_FILL_BAND", copy_tiles)
            launched.clear()
            y = matmul(x, c.w, out=cp.full((1, n), np.nan, dtype=cp.float32), path="matvec_f16tc")
            name, (grid_x, splits) = launched[-1]
            kind = "_xsq" if grid_x < tiles else "_xs"
            if copy_fill is None:
                copy_fill = default[0] * grid_x < tiles <= default[1] * grid_x
            assert _xs_kind(name) == kind + ("1" if one_row else "") + ("c" if copy_fill else ""), launched
            if sms:
                assert kind == "_xsq", launched
            if k == 14336:
                assert splits > 1, launched
            ys[one_row, copy_tiles] = y = cp.asnumpy(y)
            err = _rel_err(y, ref)
            assert err <= 1e-5, (one_row, copy_tiles, err)
        ref_scale = np.abs(ref).max()
        for key, y in ys.items():
            assert np.abs(y - ys[False, default]).max() <= 1e-5 * ref_scale, \
                f"one-row kernel {key} and the generic kernel disagree"
    counters = rt._counters.get((cp.cuda.Device().id, cp.cuda.get_current_stream().ptr))
    assert counters is None or int(counters.sum()) == 0, "tile / queue counters not left zero"


@gpu
@pytest.mark.parametrize("n,k,offset", [(1000, 4096, 0),    # 63 tiles, two stages: 2 splits
                                        (200, 14336, 0),    # 7 stages: 7 splits
                                        (300, 4352, 0),     # the last stage partial
                                        (250, 8192, 1),     # odd address: byte copies
                                        (100, 36864, 0)])   # 18 stages: more splits than a cluster holds
@pytest.mark.parametrize("m", [1, 3, 8])
def test_matvec_split_k_in_clusters(n, k, offset, m, monkeypatch):
    """Split-K matrix-vector grids (one thread block a tile) launched as
    thread block clusters, one a tile, split 0 adding the partial sums out of
    the other splits' shared memory: the same bits as the global workspace
    sum (same split order), float32-accurate, on every kernel kind (float16 x
    with and without x_shared, float32 x); these grids are one wave on any
    GPU of more SMs than their thread blocks. Where clusters cannot be had
    (before sm_90) or the splits outnumber MV_CLUSTER_MAX_SPLITS, the launch
    is the global one."""
    _need_tensor_cores("matvec_f16tc")
    import cupyquant.matmul_kernels as mk
    from cupyquant.gpu.launch import clusters_usable
    cp = cupy_module()
    xs_limit = 96 << 10
    monkeypatch.setattr(mv_plan, "MV_X_RING", False)  # its kernel: test_matvec_x_ring
    monkeypatch.setattr(mv_plan, "MV_BLOCKS_PER_SM", 4.0)  # split these small grids as far as K allows
    monkeypatch.setattr(mv_plan, "MV_BLOCKS_PER_SM_LONG_K", 4.0)
    launched = _spy_launches(monkeypatch, with_cluster=True)
    rng = np.random.default_rng()
    c = case(n, k, offset)
    for x_dtype, x_shared in (("float16", True), ("float16", False), ("float32", True), ("float32", False)):
        monkeypatch.setattr(mv_plan, "MV_X_SHARED_MAX", {x_dtype: xs_limit if x_shared else 0})
        monkeypatch.setattr(mv_plan, "MV_X_SHARED_ANY", 1 << 20)
        monkeypatch.setattr(mv_plan, "MV_X_SHARED_MANY_TILES", {})
        x = cp.asarray(rng.standard_normal((m, k)).astype(x_dtype))
        ys = []
        for max_splits in (0, 8):
            monkeypatch.setattr(mv_grid, "MV_CLUSTER_MAX_SPLITS", max_splits)
            launched.clear()
            ys.append(matmul(x, c.w, out=cp.full((m, n), np.nan, dtype=cp.float32), path="matvec_f16tc"))
            name, (grid_x, splits), cluster = launched[-1]
            assert splits > 1 and grid_x == -(-n // 16), launched  # split, a thread block a tile
            cols = m * (mk.MV_F32_PARTS if x_dtype == "float32" else 1)  # x_shared: one column tile, records that fit
            records = mk.mv_x_shared_bytes(cols, -(-(k // 32) // 64) * 64)
            xs_fits = x_shared and cols <= 8 and records <= xs_limit
            kind = "_xs1" if m == 1 and x_dtype == "float16" else "_xs"
            assert _xs_kind(name) == (kind if xs_fits else ""), launched
            dev = cp.cuda.Device().id
            in_cluster = max_splits and splits <= max_splits and clusters_usable(dev)
            if not in_cluster:
                assert cluster is None, launched
            elif grid_x * splits < device_info(dev).get("sm_count", 80):  # surely one wave
                assert cluster == (1, splits, 1), launched
        assert bool((ys[0].view(cp.uint32) == ys[1].view(cp.uint32)).all()), (x_dtype, x_shared, launched)
        ref = cp.asnumpy(x).astype(np.float64) @ c.w64.T
        err = _rel_err(cp.asnumpy(ys[1]), ref)
        assert err <= 1e-5, (x_dtype, x_shared, err)
    counters = rt._counters.get((cp.cuda.Device().id, cp.cuda.get_current_stream().ptr))
    assert counters is None or int(counters.sum()) == 0, "tile counters not left zero"


def test_x_ring_splits():
    """K splits of the "_xr" plan (whole 32-block stages): sms // tiles of
    them (at least one), none empty, never more thread blocks than SMs where
    the tiles fit; the counts of test_matvec_x_ring's cases on 132 SMs."""
    for nb in (256, 261, 448, 1157, 1536):
        for tiles_r in (1, 2, 11, 16, 33, 48, 64, 65, 80, 132, 140):
            splits, sps = mv_plan._mv_x_ring_splits(nb, tiles_r, 132)
            assert (splits - 1) * sps < -(-nb // 32) <= splits * sps  # every split has stages
            assert 1 <= splits <= max(1, 132 // tiles_r)
            assert tiles_r * splits <= max(132, tiles_r)
    assert mv_plan._mv_x_ring_splits(448, 65, 132) == (2, 7)     # 4133 x 14336
    assert mv_plan._mv_x_ring_splits(448, 48, 132) == (2, 7)     # 3072 x 14336: 2.75 -> 2, not 3
    assert mv_plan._mv_x_ring_splits(1157, 16, 132) == (8, 5)    # 1000 x 37024
    assert mv_plan._mv_x_ring_splits(512, 33, 132) == (4, 4)     # 2107 x 16384
    assert mv_plan._mv_x_ring_splits(1536, 11, 132) == (12, 4)   # 674 x 49152
    assert mv_plan._mv_x_ring_splits(256, 33, 132) == (4, 2)


def test_x_ring_cluster_splits(monkeypatch):
    """Split sums of the "_xr" kernel go through clusters only up to
    MV_X_RING_CLUSTER_MAX_SPLITS splits (4 and 8 were 30-40% slower as
    clusters on the H200); the other matrix-vector kernels keep clusters of
    up to MV_CLUSTER_MAX_SPLITS. The driver's answers are stubbed (every
    cluster resident)."""
    import cupyquant.matmul_kernels as mk
    monkeypatch.setattr(rt, "clusters_usable", lambda dev: True)
    _stub_kernel_builds(monkeypatch)
    monkeypatch.setattr(mv_grid, "_clusters_resident", lambda cp, kern, smem, splits, sms: 10 ** 6)
    xr = mk.mv_tc_name("float16", "float32", 1, mk.MV_X_RING_GEOMETRY, x_ring=True)
    plain = mk.mv_tc_name("float16", "float32", 1, mk.MV_GEOMETRIES[1])

    def clustered(name, geo, splits, tiles16):
        grid_x = -(-tiles16 * 16 // geo[0])
        plan = (types.SimpleNamespace(name=name), geo, 1024, grid_x, splits, 7, False, False)
        return mv_grid._mv_plan_clusters(None, plan, 4, tiles16, 132, 0)[-1]
    assert mv_grid.MV_X_RING_CLUSTER_MAX_SPLITS == 2
    assert clustered(xr, mk.MV_X_RING_GEOMETRY, 2, 256)
    assert not clustered(xr, mk.MV_X_RING_GEOMETRY, 4, 128)
    assert not clustered(xr, mk.MV_X_RING_GEOMETRY, 8, 64)
    assert clustered(plain, mk.MV_GEOMETRIES[1], 4, 128)
    monkeypatch.setattr(mv_grid, "MV_X_RING_CLUSTER_MAX_SPLITS", 8)
    assert clustered(xr, mk.MV_X_RING_GEOMETRY, 4, 128)


def test_x_ring_plan_shapes(monkeypatch):
    """The "_xr" plan's rule on 132 SMs (the H200) for the shapes it was
    measured on (notes/h200_s26 run 1, notes/h200_s27 run 1): which take the
    kernel, with what split. The driver's answers are stubbed."""
    _stub_kernel_builds(monkeypatch)
    monkeypatch.setattr(rt, "_occupancy", lambda cp, kern, smem: 1)

    def splits(n, k, m=4):
        plan = mv_plan._mv_x_ring_plan(None, "float16", "float32", m, k // 32, -(-n // 16), 132)
        return plan and plan[4]
    taken = {(4096, 14336): 2, (3072, 14336): 2, (2048, 28672): 4, (8192, 28672): 1, (6144, 16384): 1,
             (1024, 32768): 8, (1024, 16384): 8, (1024, 8192): 8, (2048, 16384): 4, (2048, 11008): 4,
             (2048, 8192): 4, (1536, 8960): 5}
    left = [(4096, 11008), (4096, 8192), (3072, 8192),     # 2 splits of fewer than 7 stages
            (5120, 13824),                                  # 80 of 132 SMs
            (2560, 10240), (1536, 16384)]                   # 3 / 4 splits, 76% / 73% of the slots
    assert {shape: splits(*shape) for shape in taken} == taken
    assert [shape for shape in left if splits(*shape)] == []


@gpu
@pytest.mark.parametrize("n,k,offset", [(N_ODD, 14336, 0),           # 65 tiles of 64 rows: 2 splits on 132 SMs
                                        (1000, 36864 + 32 * 5, 0),   # the last stage partial; 8 splits
                                        (2107, 16384, 1),            # odd address: byte copies; 33 tiles, 4 splits
                                        (674, 49152, 0)])            # 12 splits: more than a cluster holds
@pytest.mark.parametrize("m", [2, 5, 8])
def test_matvec_x_ring(n, k, offset, m, monkeypatch):
    """float16 x, 2-8 rows, long K, few weight rows: the "_xr" kernel, which
    copies each stage's x into a ring beside the weight stages. Its grid
    (64-row tiles, K split for at most one thread block an SM), float32-accurate
    against float64, the same bits with the split sums in clusters or
    through the global workspace, float16 / bfloat16 outputs the float32
    sums rounded to nearest-even, and with MV_X_RING off the former kernel
    (x read from L1 / L2) within the same tolerance."""
    _need_tensor_cores("matvec_f16tc")
    from cupyquant.gpu.launch import clusters_usable
    cp = cupy_module()
    dev = cp.cuda.Device().id
    sms = device_info(dev).get("sm_count", 80)
    if -(-n // 64) > sms:
        pytest.skip(f"the case's grid needs {sms} SMs or more")  # the cases are sized for 132
    launched = _spy_launches(monkeypatch, with_cluster=True)
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_MAX", {})  # x_shared records would come first where they fit
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_MANY_TILES", {})
    # The kernel at every split length and grid size (test_x_ring_plan_rule: where the plan takes it)
    monkeypatch.setattr(mv_plan, "MV_X_RING_MIN_STAGES", 1)
    monkeypatch.setattr(mv_plan, "MV_X_RING_MIN_FILL", 0.0)
    monkeypatch.setattr(mv_plan, "MV_X_RING_MIN_WORK", 0.0)
    rng = np.random.default_rng()
    c = case(n, k, offset)
    x = cp.asarray(rng.standard_normal((m, k)).astype(np.float16))
    ref = cp.asnumpy(x).astype(np.float64) @ c.w64.T
    ys = []
    for max_splits in (0, 8):
        monkeypatch.setattr(mv_grid, "MV_CLUSTER_MAX_SPLITS", max_splits)
        ys.append(matmul(x, c.w, out=cp.full((m, n), np.nan, dtype=cp.float32), path="matvec_f16tc"))
        name, (grid_x, splits), cluster = launched[-1]
        assert name.endswith("_xr") and grid_x == -(-n // 64), launched
        assert splits == mv_plan._mv_x_ring_splits(k // 32, grid_x, sms)[0], launched
        if not (1 < splits <= min(max_splits, mv_grid.MV_X_RING_CLUSTER_MAX_SPLITS) and clusters_usable(dev)):
            assert cluster is None, launched
        else:
            # Clusters where the driver places all of them at once
            # (_mv_plan_clusters); the sums' extra shared memory leaves one
            # thread block an SM at M = 8, and on the H200 (132 SMs, run 6)
            # 16 clusters of 8 or 33 of 4 then did not fit, 65 of 2 did.
            assert cluster in (None, (1, splits, 1)), launched
            if sms == 132 and n == N_ODD:
                assert cluster == (1, splits, 1), launched
    assert bool((ys[0].view(cp.uint32) == ys[1].view(cp.uint32)).all()), launched
    y32 = cp.asnumpy(ys[1])
    err = _rel_err(y32, ref)
    assert err <= 1e-5, err
    y16 = matmul(x, c.w, out=cp.full((m, n), np.nan, dtype=cp.float16), path="matvec_f16tc")
    assert launched[-1][0].endswith("_xr")
    assert np.array_equal(cp.asnumpy(y16).view(np.uint16), _round_f32_to(y32, "float16"))
    ybf = matmul(x, c.w, dtype="bfloat16", path="matvec_f16tc")
    assert launched[-1][0].endswith("_xr")
    assert np.array_equal(cp.asnumpy(ybf.view(cp.uint16)), _round_f32_to(y32, "bfloat16"))
    monkeypatch.setattr(mv_plan, "MV_X_RING", False)
    y_old = matmul(x, c.w, out=cp.full((m, n), np.nan, dtype=cp.float32), path="matvec_f16tc")
    assert not launched[-1][0].endswith("_xr"), launched[-1]
    assert _rel_err(cp.asnumpy(y_old), ref) <= 1e-5
    counters = rt._counters.get((dev, cp.cuda.get_current_stream().ptr))
    assert counters is None or int(counters.sum()) == 0, "tile counters not left zero"


@gpu
def test_x_ring_plan_rule():
    """Where _mv_plan takes the "_xr" kernel: float16 x, 2-8 rows, K of at
    least MV_LONG_K, a grid of at most one thread block a multiprocessor
    that occupies at least MV_X_RING_MIN_FILL of them, with splits of
    MV_X_RING_MIN_STAGES stages or more where there are at most
    MV_X_RING_CLUSTER_MAX_SPLITS of them, else any split length where the
    grid uses MV_X_RING_MIN_WORK of its SM-stage slots; from
    MV_X_RING_SHORT_SPLITS_FROM_M rows also 2 splits of 2 stages at short K;
    not for one row, float32 x, shorter K, more 64-row tiles than SMs,
    emptier grids, shorter splits or emptier slots."""
    _need_tensor_cores("matvec_f16tc")
    cp = cupy_module()
    sms = device_info(cp.cuda.Device().id).get("sm_count", 80)
    nb = mv_plan.MV_LONG_K // 32
    stages = mv_plan.MV_X_RING_MIN_STAGES

    def plan(x_dtype, m, n, nb_):
        p = mv_plan._mv_plan(cp, cp.dtype(x_dtype), cp.dtype(cp.float32), m, nb_, -(-n // 16), 1, sms)
        return p[0].name, p[4]  # kernel, splits

    def ring(*args):
        return plan(*args)[0].endswith("_xr")
    assert nb >= 32 * stages  # one split of MV_LONG_K is long enough
    assert ring("float16", 8, 64 * sms, nb)
    assert ring("float16", 2, 64 * sms - 63, 4 * nb)
    assert not ring("float16", 8, 64 * sms + 1, nb)                       # a 64-row tile more than SMs
    fill = mv_plan.MV_X_RING_MIN_FILL
    assert ring("float16", 8, 64 * (int(sms * fill) + 1), nb)       # just above the fill: 1 split
    assert not ring("float16", 8, 64 * (int(sms * fill) - 1), nb)   # just below it
    half = sms // 2                                                  # 2 splits a tile
    name, splits = plan("float16", 4, 64 * half, 2 * 32 * stages)
    assert name.endswith("_xr") and splits == 2                      # 2 splits of MIN_STAGES
    assert not ring("float16", 4, 64 * half, 2 * 32 * (stages - 1))  # 2 splits of one stage less
    assert mv_grid.MV_X_RING_CLUSTER_MAX_SPLITS == 2 and mv_plan.MV_X_RING_MIN_WORK > 0.75
    quarter = sms // 4                                               # up to 4 splits a tile
    name, splits = plan("float16", 8, 64 * quarter, nb)              # 8 stages
    assert name.endswith("_xr") and splits == 4                      # 4 splits of 2: no stage limit
    # 9 stages: 3 splits of 3, 3 / 4 of the SM-stage slots used
    assert not ring("float16", 8, 64 * quarter, nb + 32)
    assert not ring("float16", 4, 4096, nb - 1)                      # K below MV_LONG_K
    # from MV_X_RING_SHORT_SPLITS_FROM_M rows: 2 splits of 2 or more stages at any K, not 1
    short_m = mv_plan.MV_X_RING_SHORT_SPLITS_FROM_M
    assert short_m <= 8
    name, splits = plan("float16", short_m, 64 * half, 4 * 32)          # K = 4096: 2 splits of 2 stages
    assert name.endswith("_xr") and splits == 2
    assert not ring("float16", short_m - 1, 64 * half, 4 * 32)
    assert not ring("float16", short_m, 64 * half, 2 * 32)              # 2 splits of 1 stage
    assert not ring("float16", short_m, 64 * quarter, 4 * 32)           # 4 splits of 1 stage
    assert not ring("float16", 1, 4096, 4 * nb)                      # one row: "_xs1"
    assert not ring("float32", 2, 4096, 4 * nb)


def test_mv_split_model():
    """The long-K split count of least modelled time (660 resident slots,
    64 blocks a stage): the fastest count of each shape measured on the H200
    (notes/h200_s21 run 3), whole waves counted, the last stage's fraction
    counted, ties to fewer splits."""
    assert mv_grid._makespan(10, [2.0], 16) == 2.0
    assert mv_grid._makespan(10, [2.0, 2.0], 16) == 4.0          # 20 blocks on 16 slots: a second wave
    assert mv_grid._makespan(256, [3.0, 3.0, 1.0], 660) == 3.0   # the short third split fills in
    assert mv_grid._makespan(256, [2.0, 2.0, 1.375], 660) == 2.75
    best = {(2048, 8192): 2, (4096, 8192): 2, (4096, 11008): 2, (4096, 14336): 3, (5120, 13824): 2,
            (8192, 28672): 1}
    for (n, k), splits in best.items():
        nb = k // 32
        got, sps = mv_grid._mv_splits_makespan(nb, -(-n // 16), 660, 64, clusters=True)
        assert got == splits and got * sps >= -(-nb // 64) > (got - 1) * sps, (n, k, got, sps)
    assert mv_grid._mv_splits_makespan(128, 256, 660, 64, clusters=True) == (2, 1)  # K = 4096, 4096 rows: one wave of two
    assert mv_grid._mv_splits_makespan(64, 256, 660, 64, clusters=True) == (1, 1)   # one stage: nothing to split
    assert mv_grid._mv_splits_makespan(448, 660, 660, 64, clusters=True) == (1, 7)  # the tiles fill the slots: no split


def test_mv_split_model_costs(monkeypatch):
    """The model charges MV_SPLIT_COST a split after the first where the
    splits would be summed in clusters (the device has them, one wave, at
    most MV_CLUSTER_MAX_SPLITS splits), MV_SPLIT_COST_GLOBAL for the other
    grids there and MV_SPLIT_COST_NO_CLUSTERS on devices without clusters
    (4096 x 14336: 2 splits are one wave of 512 thread blocks on 660 slots,
    3 are two). Without clusters the shipped costs take 4 splits for 2048 x
    8192 (the fastest count on the H200 with clusters off, notes/h200_s22
    run 2), with them 2 (the fastest in clusters, notes/h200_s21 run 3)."""
    assert mv_grid._mv_splits_makespan(256, 128, 660, 64, clusters=False) == (4, 1)
    assert mv_grid._mv_splits_makespan(256, 128, 660, 64, clusters=True) == (2, 2)
    monkeypatch.setattr(mv_grid, "MV_SPLIT_COST", 0.8)
    monkeypatch.setattr(mv_grid, "MV_SPLIT_COST_GLOBAL", 5.0)
    monkeypatch.setattr(mv_grid, "MV_SPLIT_COST_NO_CLUSTERS", 5.0)
    assert mv_grid._mv_splits_makespan(448, 256, 660, 64, clusters=True) == (2, 4)   # the cluster grid
    assert mv_grid._mv_splits_makespan(448, 256, 660, 64, clusters=False) == (1, 7)  # global sums only
    monkeypatch.setattr(mv_grid, "MV_SPLIT_COST_NO_CLUSTERS", 0.8)
    assert mv_grid._mv_splits_makespan(448, 256, 660, 64, clusters=False) == (3, 3)
    monkeypatch.setattr(mv_grid, "MV_CLUSTER_MAX_SPLITS", 0)
    assert mv_grid._mv_splits_makespan(448, 256, 660, 64, clusters=True) == (1, 7)   # clusters turned off
    monkeypatch.setattr(mv_grid, "MV_CLUSTER_MAX_SPLITS", 8)
    monkeypatch.setattr(mv_grid, "MV_SPLIT_COST", 5.0)
    monkeypatch.setattr(mv_grid, "MV_SPLIT_COST_GLOBAL", 0.8)
    assert mv_grid._mv_splits_makespan(448, 256, 660, 64, clusters=True) == (3, 3)   # two waves, global sums


def test_mv_plan_clusters_need_every_cluster_resident(monkeypatch):
    """A one-wave split grid runs as clusters only where all its clusters fit
    at once with the received sums' shared memory added (the driver's count,
    or the thread blocks an SM without it); the kernel is then asked for the
    larger shared memory. Otherwise the plan keeps the global sum."""
    import cupyquant.matmul_kernels as mk
    monkeypatch.setattr(rt, "clusters_usable", lambda dev: True)
    asked = []
    monkeypatch.setattr(rt, "_kernel_with_smem",
                        lambda cp, name, smem, function=None: asked.append(smem) or types.SimpleNamespace(name=name))
    base = (types.SimpleNamespace(name="k"), (16, 64, 2), 30000, 256, 2, 4, False, False)
    extra = mk.mv_cluster_sum_bytes(16, 4, 2)
    for driver, occupancy, clusters in [(256, 1, True), (255, 9, False), (None, 4, True), (None, 3, False)]:
        monkeypatch.setattr(rt, "max_active_clusters", lambda kern, block, smem, cluster, n=driver: n)
        monkeypatch.setattr(rt, "_occupancy", lambda cp, kern, smem, n=occupancy: n)
        asked.clear()
        plan = mv_grid._mv_plan_clusters(None, base, 4, 256, 132, 0)   # 132 SMs: 4 an SM hold 264 clusters of 2
        assert plan[-1] is clusters and asked == [30000 + extra], (driver, occupancy)
        assert plan[2] == (30000 + extra if clusters else 30000)
    full = base[:-1] + (True,)
    assert mv_grid._mv_plan_clusters(None, full, 4, 256, 132, 0)[-1] is False  # more than one wave


def test_mv_cluster_rule(monkeypatch):
    """Clusters only where the splits are 2 .. MV_CLUSTER_MAX_SPLITS, every
    tile has its own thread block (no queue), the grid is one wave (not
    full) and the device has them."""
    monkeypatch.setattr(rt, "clusters_usable", lambda dev: dev == 0)
    assert mv_grid._mv_cluster(2, 256, 256, False, 0) and mv_grid._mv_cluster(8, 63, 63, False, 0)
    assert not mv_grid._mv_cluster(1, 256, 256, False, 0)       # not split
    assert not mv_grid._mv_cluster(9, 256, 256, False, 0)       # more splits than a cluster
    assert not mv_grid._mv_cluster(2, 198, 256, False, 0)       # persistent thread blocks with a queue
    assert not mv_grid._mv_cluster(3, 256, 256, True, 0)        # more than one wave
    assert not mv_grid._mv_cluster(2, 256, 256, False, 1)       # no clusters on that device
    monkeypatch.setattr(mv_grid, "MV_CLUSTER_MAX_SPLITS", 0)
    assert not mv_grid._mv_cluster(2, 256, 256, False, 0)


def _h200_occupancy(cp, kern, smem):
    """Thread blocks of 256 threads an SM by shared memory alone, as on an
    H200 (228 KiB an SM, 1 KiB of it reserved a thread block), at most 5
    (the kernels' register bound)."""
    return min(5, (228 << 10) // (smem + 1024))


def test_mv_cap_occupancy(monkeypatch):
    """A grid that leaves slots free, of one K split or one cluster a tile,
    gets the least shared memory with which ceil(thread blocks / SMs) fit an
    SM, and counts as full; the kernel is allowed the most first (the
    driver's occupancy query answers 0 above a kernel's limit, which its
    static shared memory lowers). A cluster grid only where all its clusters
    stay resident. Full grids, split grids summed in the global workspace,
    grids that already fill their SMs and GPUs that allow no more are left
    alone."""
    asked = []
    monkeypatch.setattr(rt, "_kernel_with_smem",
                        lambda cp, name, smem, function=None: asked.append(smem) or types.SimpleNamespace(name=name))
    monkeypatch.setattr(rt, "_occupancy", _h200_occupancy)
    resident = {}
    monkeypatch.setattr(mv_grid, "_clusters_resident", lambda cp, kern, smem, splits, sms: resident["n"])
    optin = 227 << 10
    kern = types.SimpleNamespace(name="k", shared_size_bytes=8)
    for grid, splits, cluster, smem, per_sm in [(256, 1, False, 45552, 2), (188, 1, False, 37376, 2),
                                                (128, 1, False, 94464, 1), (512, 1, False, 45552, 4),
                                                (320, 1, False, 45552, 3), (64, 2, True, 41584, 1),
                                                (128, 2, True, 38400, 2), (256, 2, True, 37632, 4)]:
        asked.clear()
        resident["n"] = grid
        plan = (kern, (16, 64, 2), smem, grid, splits, 2, True, False, cluster)
        got = mv_grid._mv_cap_occupancy(None, plan, 132, optin)
        capped = got[2]
        assert got[7] is True and got[3:5] == (grid, splits) and got[8] is cluster, grid
        assert _h200_occupancy(None, None, capped) == per_sm, (grid, capped)
        assert _h200_occupancy(None, None, capped - 128) > per_sm, (grid, capped)   # the least such
        assert asked == [optin - 8, capped], grid   # the static bytes count against the limit
        if cluster:   # one cluster fewer resident than the grid: left alone
            resident["n"] = grid - 1
            assert mv_grid._mv_cap_occupancy(None, plan, 132, optin) == plan
    for plan in [(kern, (16, 64, 2), 45552, 660, 1, 2, True, True, False),      # full already
                 (kern, (16, 64, 2), 45552, 128, 2, 1, True, False, False),     # split, global sum
                 (kern, (16, 64, 2), 120000, 128, 1, 4, True, False, False),    # one an SM already
                 (kern, (16, 64, 2), 45552, 64, 1, 4, True, False, False)]:     # the GPU's limit is less
        limit = 40000 if plan[3] == 64 else optin
        assert mv_grid._mv_cap_occupancy(None, plan, 132, limit) == plan


@gpu
@pytest.mark.parametrize("n,k,m,x_dtype", [(3000, 4096, 1, "float16"), (3000, 4096, 4, "float16"),
                                           (N_ODD, 4096, 1, "float16"), (3000, 4096, 1, "float32"),
                                           (2048, 2048, 1, "float16"),    # one stage: 1 an SM, not split
                                           (1000, 4096, 1, "float16"),    # 2 splits in clusters (sm_90)
                                           (1000, 4096, 8, "float16")])
def test_matvec_capped_one_wave_grid(n, k, m, x_dtype, monkeypatch):
    """With PDL (MATVEC_PDL "always", on a GPU that has it) a one-wave grid
    (one split, or split in clusters) is launched with the shared memory that
    fits ceil(thread blocks / SMs) of it an SM and with the early bit
    (MV_EARLY); its outputs equal, bit for bit, those of the same product
    planned without the cap, and the float64 reference to 1e-5."""
    from cupyquant.gpu.launch import pdl_usable
    cp = cupy_module()
    dev = cp.cuda.Device().id
    if not pdl_usable(dev) or not dispatch._tensor_cores(dev):
        pytest.skip("needs PDL (CUDA sm_90+)")
    rng = np.random.default_rng()
    c = case(n, k)
    x = cp.asarray(rng.standard_normal((m, k)).astype(x_dtype))
    monkeypatch.setattr(matvec, "MATVEC_PDL", "always")
    launched = []
    real_launch = rt.launch

    def spy(kern, grid, block, args, **kw):
        launched.append((kern, tuple(grid), kw.get("shared_mem", 0), int(args[9]), kw.get("cluster")))
        return real_launch(kern, grid, block, args, **kw)
    monkeypatch.setattr(rt, "launch", spy)
    ys = {}
    for cap in (False, True):
        monkeypatch.setattr(matvec, "MV_CAP_OCCUPANCY", cap)
        y = cp.full((m, n), np.nan, dtype=cp.float32)
        matmul(x, c.w, out=y, path="matvec")
        ys[cap] = y
        kern, grid, smem, mode, cluster = launched[-1]
        sms = device_info(dev)["sm_count"]
        per_sm = -(-grid[0] * grid[1] // sms)
        if cap:
            assert grid[1] == 1 or cluster, (grid, cluster)
            assert rt._occupancy(cp, kern, smem) == per_sm, (grid, smem)
            assert mode & matvec.MV_EARLY
        else:
            assert rt._occupancy(cp, kern, smem) > per_sm and not mode & matvec.MV_EARLY, (grid, smem)
    assert bool((ys[True].view(cp.uint32) == ys[False].view(cp.uint32)).all())
    assert _rel_err(cp.asnumpy(ys[True]), cp.asnumpy(x).astype(np.float64) @ c.w64.T) <= 1e-5


@gpu
@pytest.mark.parametrize("n,k,m,x_dtype,kernel", [
    (3000, 4096, 1, "float16", "_xs1"),       # one wave
    (30000, 4096, 1, "float16", "_xsq1"),     # a queue
    (3000, 4096, 4, "float16", "_xs"),
    (3000, 4096, 1, "float32", "_xs"),        # float32 x_shared
    (1000, 4096, 1, "float16", "_xs1"),       # 2 K splits in clusters (sm_90)
    (3000, 4096, 16, "float16", "_s[23]"),    # two column tiles: x read from global memory
    (3000, 4096, 8, "float32", "_s[23]"),     # x: the float32 records' kernel's output
    (1000, 14336, 4, "float16", "_xr")])      # x copied with each weight stage (forced)
def test_matvec_read_only_weights_chain(n, k, m, x_dtype, kernel, monkeypatch):
    """Read-only weights (QuantizedTensor.read_only: the tensor-core
    matrix-vector kernels copy their first weight stages before the grid
    dependency wait, and everything else after it) under PDL: a chain of
    products, each one's x the previous one's output, launched back to back,
    gives the same bits as the same chain with writable weights, and only the
    read-only launches carry the bit."""
    from cupyquant.gpu.launch import pdl_usable
    cp = cupy_module()
    dev = cp.cuda.Device().id
    if not pdl_usable(dev) or not dispatch._tensor_cores(dev):
        pytest.skip("needs PDL (CUDA sm_90+)")
    rng = np.random.default_rng()
    # the square weight's scales keep x about the same size along the chain
    square = cp.asarray(random_q4_0(rng, k, k, scale=0.2 / k ** 0.5))
    last = case(n, k).w.data
    monkeypatch.setattr(matvec, "MATVEC_PDL", "always")
    if kernel == "_xr":   # as test_matvec_x_ring forces it
        for knob, value in [("MV_X_SHARED_MAX", {}), ("MV_X_SHARED_MANY_TILES", {}), ("MV_X_RING_MIN_STAGES", 1),
                            ("MV_X_RING_MIN_FILL", 0.0), ("MV_X_RING_MIN_WORK", 0.0)]:
            monkeypatch.setattr(mv_plan, knob, value)
    modes, names = [], set()
    real_launch = rt.launch

    def spy(kern, grid, block, args, **kw):
        if kern.name.startswith("cq_q4_0_mv_tc_"):
            modes.append(int(args[9]))
            names.add(kern.name)
        return real_launch(kern, grid, block, args, **kw)
    monkeypatch.setattr(rt, "launch", spy)
    x0 = cp.asarray(rng.standard_normal((m, k)).astype(x_dtype))
    outs = {}
    for read_only in (False, True):
        ws = [QuantizedTensor("Q4_0", (rows, k), data, read_only=read_only)
              for rows, data in ((k, square), (n, last))]
        modes.clear()
        x, ys = x0, []
        for _ in range(8):   # x -> x @ S.T -> (x @ S.T) @ S.T ..., and each of them times the last weight
            x = matmul(x, ws[0])
            ys.append(matmul(x, ws[1]))
        outs[read_only] = cp.stack(ys)
        assert modes and all(bool(mode & matvec.MV_READ_ONLY_W) == read_only for mode in modes), modes
    # the kernel the case is meant for (any register-bound build of it)
    assert any(re.search(kernel + r"(b\d)?$", name) for name in names), names
    assert bool(cp.isfinite(outs[False]).all())
    assert bool((outs[True].view(cp.uint8) == outs[False].view(cp.uint8)).all())


@gpu
@pytest.mark.parametrize("out_dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("path", ["matvec", "mma", "dequant_gemm", "wgmma"])
def test_out_dtypes_and_batch_dims(out_dtype, path):
    _need_wgmma(path)
    cp = cupy_module()
    try:
        cp.dtype(out_dtype)
    except TypeError:
        pytest.skip(f"this CuPy has no {out_dtype}")
    rng = np.random.default_rng()
    c = case(N_ODD, 512)
    for lead in [(2, 3), (1,), (4, 1, 2)]:
        err = run_check(c, None, "float32", path, rng, out_dtype=out_dtype, lead=lead, use_out=False)
        assert err <= tolerance(path, "float32", out_dtype), (lead, err)


@gpu
def test_dequant_gemm_slabs(monkeypatch):
    monkeypatch.setattr(dequant_gemm, "DEQUANT_SCRATCH_BYTES", 512 * 2 * 1000)  # 1000 rows a slab
    rng = np.random.default_rng()
    c = case(N_ODD, 512)
    for m, xd in [(3, "float16"), (40, "float32")]:
        for od in (None, "float32"):
            err = run_check(c, m, xd, "dequant_gemm", rng, out_dtype=od)
            assert err <= tolerance("dequant_gemm", xd, od), err


@gpu
def test_format_entry_point():
    cp = cupy_module()
    rng = np.random.default_rng()
    raw = random_q4_0(rng, 100, 256)
    w64 = Q4_0.decode(raw).reshape(100, 256).astype(np.float64)
    x = rng.standard_normal((4, 256)).astype(np.float32)
    y = Q4_0.matmul(cp.asarray(x), cp.asarray(raw), (100, 256))
    assert _rel_err(cp.asnumpy(y), x.astype(np.float64) @ w64.T) <= 1e-5


@gpu
def test_gpu_dequant_matches_host():
    """The dequantization kernel that the dequant_gemm path relies on."""
    cp = cupy_module()
    rng = np.random.default_rng()
    raw = random_q4_0(rng, 300, 800)
    host = Q4_0.decode(raw)
    dev = Q4_0.dequant(cp.asarray(raw), dtype="float32")
    assert_bit_exact(cp.asnumpy(dev), host, "float32")   # -0.0 and +0.0 apart, too
    dev16 = Q4_0.dequant(cp.asarray(raw), dtype="float16")
    assert_bit_exact(cp.asnumpy(dev16), host.astype(np.float16), "float16")


@gpu
def test_gpu_argument_errors():
    cp = cupy_module()
    c = case(N_ODD, 512)
    with pytest.raises(ValueError, match="last dimension must be K = 512"):
        matmul(cp.zeros((2, 256), cp.float32), c.w)
    with pytest.raises(TypeError, match="x must be float16 or float32, got float64"):
        matmul(cp.zeros((2, 512), cp.float64), c.w)
    with pytest.raises(TypeError, match="x must be float16 or float32, got int32"):
        matmul(cp.zeros((2, 512), cp.int32), c.w)
    with pytest.raises(ValueError, match=rf"out has shape \(2, 10\), expected \(2, {N_ODD}\)"):
        matmul(cp.zeros((2, 512), cp.float32), c.w, out=cp.zeros((2, 10), cp.float32))
    with pytest.raises(TypeError, match="dtype=float32 disagrees with out.dtype=float16"):
        matmul(cp.zeros((2, 512), cp.float32), c.w, out=cp.zeros((2, N_ODD), cp.float16),
               dtype="float32")
    with pytest.raises(ValueError, match="out must be C-contiguous"):
        matmul(cp.zeros((2, 512), cp.float32), c.w,
               out=cp.zeros((N_ODD, 2), cp.float32).T)
    with pytest.raises(TypeError, match="result dtype must be float32, float16 or bfloat16, got int8"):
        matmul(cp.zeros((2, 512), cp.float32), c.w, dtype="int8")
    y = matmul(cp.zeros((0, 512), cp.float32), c.w)
    assert y.shape == (0, N_ODD)


@gpu
def test_different_devices():
    cp = cupy_module()
    if cp.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("needs two GPUs")
    c = case(N_ODD, 512)
    with cp.cuda.Device(1):
        x = cp.zeros((2, 512), cp.float32)
    with pytest.raises(ValueError):
        matmul(x, c.w)


@gpu
@pytest.mark.parametrize("x_dtype", ["float32", "float16"])
def test_second_gpu(x_dtype):
    """x and w on GPU 1 (as device_map places weights) while GPU 0 is
    current: the product runs there, right. (Its host side is checked
    without a GPU in test_launch_args; this needs two real GPUs.)"""
    cp = cupy_module()
    if cp.cuda.runtime.getDeviceCount() < 2:
        pytest.skip("needs two GPUs")
    rng = np.random.default_rng(11)
    with cp.cuda.Device(1):
        c = _Case(rng, N_ODD, 4096)
    for m in MS:
        x_host = rng.standard_normal((m, c.k)).astype(x_dtype)
        with cp.cuda.Device(1):
            x = cp.asarray(x_host)
        with cp.cuda.Device(0):
            y = matmul(x, c.w, dtype="float32")
        assert y.device.id == 1 and y.shape == (m, c.n)
        with cp.cuda.Device(1):
            yh = cp.asnumpy(y).astype(np.float64)
        assert np.isfinite(yh).all(), "some outputs were not written"
        ref = x_host.astype(np.float64) @ c.w64.T
        assert _rel_err(yh, ref) <= tolerance("matvec" if m <= 8 else "mma", x_dtype, "float32"), m


def test_auto_path_rules(monkeypatch):
    """choose_path on an sm_90 GPU of 132 SMs with wgmma (faked: CPU test):
    matvec for one pass of rows (float16 x) or float32-accurate rows (float32
    x); then wgmma where its grid has at least 0.75 thread blocks an SM or its
    plan splits K (K >= 4096), otherwise matvec up to MATVEC_MAX_M rows and
    dequant_gemm above."""
    monkeypatch.setattr(dispatch, "_tensor_cores", lambda dev: True)
    monkeypatch.setattr(wg, "wgmma_available", lambda dev: True)
    monkeypatch.setattr(rt, "device_info", lambda dev: {"sm_count": 132})
    cases = [(16, "float16", 14336, 4096, "matvec"), (17, "float16", 14336, 4096, "wgmma"),
             (512, "float16", 4096, 4096, "wgmma"),
             # small grids: wgmma split over K
             (17, "float16", 4096, 4096, "wgmma"), (32, "float16", 4096, 4096, "wgmma"),
             (128, "float16", 4096, 4096, "wgmma"), (17, "float32", 4096, 4096, "wgmma"),
             (17, "float16", 4096, 14336, "wgmma"), (128, "float16", 4096, 14336, "wgmma"),
             (16, "float16", 4096, 14336, "matvec"), (17, "float32", 4096, 14336, "wgmma"),
             (300, "float16", 4096, 14336, "wgmma"),  # 96 blocks of 128 rows: 256 rows, 2 splits
             (384, "float16", 4096, 4096, "wgmma"),   # 96 blocks of 128 rows: 128 of 64 x 256
             # ... not with K < 4096
             (17, "float16", 4096, 2048, "matvec"), (32, "float16", 4096, 2048, "matvec"),
             (33, "float16", 4096, 2048, "dequant_gemm"), (17, "float32", 4096, 2048, "dequant_gemm"),
             (8, "float32", 128256, 4096, "matvec"), (16, "float32", 14336, 4096, "matvec"),
             (17, "float32", 14336, 4096, "wgmma"),
             (512, "float32", None, None, "wgmma")]
    for m, xd, n, k, want in cases:
        assert dispatch.choose_path(m, xd, 0, n, k) == want, (m, xd, n, k, want)
    monkeypatch.setattr(wg, "wgmma_available", lambda dev: False)
    assert dispatch.choose_path(512, "float16", 0, 128256) == dispatch.NVIDIA_LARGE_M_PATH
    assert dispatch.choose_path(20, "float16", 0, 128256) == "matvec"


@gpu
def test_auto_path_choice():
    from cupyquant.qmatmul import choose_path
    assert choose_path(1, "float32") == "matvec"
    assert choose_path(8, "float16") == "matvec"
    assert choose_path(512, "float16") in ("mma", "dequant_gemm", "wgmma")
    from cupyquant.qmatmul import wgmma_available
    dev = cupy_module().cuda.Device().id
    cc = cupy_module().cuda.Device().compute_capability
    if cc == "90":  # H100 / H200: the wgmma kernels must be there
        assert wgmma_available(dev), __import__("cupyquant.qmatmul").qmatmul.wgmma.wgmma_error
        assert choose_path(512, "float16") == "wgmma"
        # the automatic path: wgmma where the weights allow it, else dequant_gemm (K = 800)
        launched = []
        real = wg._wgmma

        def spy(*a):
            launched.append(a[-3:-1])
            return real(*a)
        wg._wgmma = spy
        try:
            rng = np.random.default_rng()
            assert run_check(case(N_ODD, 512), 512, "float16", None, rng) <= 2e-3
            assert launched == [(N_ODD, 512)]
            assert run_check(case(300, 800), 512, "float16", None, rng) <= 2e-3
            assert launched == [(N_ODD, 512)]
        finally:
            wg._wgmma = real


# ------------------------------------------------- wgmma kernel (GPU tests)
def _need_wgmma(path="wgmma"):
    if path == "wgmma":
        from cupyquant.qmatmul import wgmma_available
        if not wgmma_available(cupy_module().cuda.Device().id):
            pytest.skip("the wgmma path needs an NVIDIA sm_90 GPU")


def _spy_sm90_functions(monkeypatch) -> list:
    """The names qmatmul asks of the sm_90a module from now on, in order."""
    names = []
    real = rt._sm90_function

    def spy(name):
        names.append(name)
        return real(name)
    monkeypatch.setattr(rt, "_sm90_function", spy)
    return names


def _force_wgmma_plan(monkeypatch, width, split: bool, tma: bool):
    """Force the wgmma plan to thread blocks of ``width`` activation rows (64,
    128, 256; "256_r64" / "256_r64x2": 64 weight rows, one warpgroup or two
    taking turns over K) split over K as far as K allows (one group of 4
    stages each) or not at all, with or without TMA; returns the width the
    kernel's name ends with."""
    from cupyquant.gpu import tensor_map
    if tma and not tensor_map.available():
        pytest.skip("the CUDA driver cannot encode TMA tensor maps")
    monkeypatch.setattr(wg, "WGMMA_TMA", tma)
    monkeypatch.setattr(wg, "WGMMA_R64", False)
    if width in ("256_r64", "256_r64x2"):  # the plan forced: the rule is test_wgmma_choice's
        monkeypatch.setattr(wg, "_wgmma_choice",
                            lambda M, N, K, sms: (64, 256, K // 256 if split else 1, 4 if split else K // 64))
        monkeypatch.setattr(wg, "WGMMA_R64_WARPGROUPS", 2 if width == "256_r64x2" else 1)
        if not tma:
            width = "256_r64"  # the one-warpgroup kernel: turns over K need TMA
    monkeypatch.setattr(wg, "WGMMA_WIDE_MIN_ROUNDS", 0 if width == 256 and not split else float("inf"))
    monkeypatch.setattr(wg, "WGMMA_WIDE_MIN_M", 0)  # 256-row blocks also for M <= 128
    monkeypatch.setattr(wg, "WGMMA_WIDE_MAX_EXTRA_ROWS", 1 << 30)  # ... and for any M
    monkeypatch.setattr(wg, "WGMMA_WIDE_SPLIT_MIN_K", 0 if width == 256 else float("inf"))
    monkeypatch.setattr(wg, "WGMMA_NARROW_MAX_M", 1 << 30 if width == 64 else 0)
    for knob in ("WGMMA_SPLIT_MAX_BLOCKS_PER_SM", "WGMMA_SPLIT_MAX_BLOCKS_PER_SM_N64"):
        monkeypatch.setattr(wg, knob, 1e9 if split else 0)
    if width == 256 and split:  # the 256-row split rule needs a one-wave grid of 128-row blocks
        monkeypatch.setattr(wg, "WGMMA_SPLIT_MAX_BLOCKS_PER_SM", -1.0)
        monkeypatch.setattr(wg, "_wgmma_blocks", lambda M, N, width, rows=128: 1)
    monkeypatch.setattr(wg, "WGMMA_SPLIT_BLOCKS_PER_SM", 1e9)
    monkeypatch.setattr(wg, "WGMMA_MIN_STAGES_PER_SPLIT", 4)
    return width


@gpu
@pytest.mark.parametrize("width,split", [(64, False), (64, True), (128, False), (128, True), (256, False), (256, True),
                                         ("256_r64", False), ("256_r64", True), ("256_r64x2", False),
                                         ("256_r64x2", True)])
@pytest.mark.parametrize("n,k", [(N_ODD, 512), (1000, 4096), (300, 1024), (130, 14336)])
@pytest.mark.parametrize("m", [1, 3, 17, 200, 512, 600])
@pytest.mark.parametrize("tma", [True, False])
def test_wgmma_accuracy(n, k, m, width, split, tma, monkeypatch):
    """Every thread-block width (64 / 128 / 256 activation rows; 256 also with
    blocks of 64 weight rows, one warpgroup, "256_r64", or two taking turns
    over K, "256_r64x2": TMA only, else the first), split-K into as many
    splits as K allows (one group of 4 stages each) or none, x and the
    weights copied through TMA tensor maps (the mbarrier pipeline: many uses
    of every slot at K = 14336) or by cp.async, M and N not multiples of the
    tiles, outputs poisoned first; float32 and float16 x; the split counters
    left zero for the next launch."""
    _need_wgmma()
    width = _force_wgmma_plan(monkeypatch, width, split, tma)
    assert (wg._wgmma_choice(m, n, k, 132)[2] > 1) == (split and k >= 512)
    launched = _spy_sm90_functions(monkeypatch)
    rng = np.random.default_rng()
    c = case(n, k)
    for x_dtype, out_dtype in [("float16", None), ("float32", None), ("float16", "float32")]:
        err = run_check(c, m, x_dtype, "wgmma", rng, out_dtype=out_dtype)
        assert err <= tolerance("wgmma", x_dtype, out_dtype), (x_dtype, out_dtype, err)
    assert launched and all(name.endswith(f"_n{width}") and ("_tma_" in name) == tma for name in launched), \
        launched
    _assert_counts_zero()


def _assert_counts_zero() -> None:
    """The wgmma launches left the current stream's split counters zero."""
    cp = cupy_module()
    counters = rt._counters.get((cp.cuda.Device().id, cp.cuda.get_current_stream().ptr))
    if counters is not None:
        assert int(counters.sum()) == 0, "split counters not left zero"


def _round_f32_to(y32: np.ndarray, dtype_name: str) -> np.ndarray:
    """Float32 values rounded to nearest-even float16 or bfloat16, as uint16
    bit patterns."""
    if dtype_name == "float16":
        return y32.astype(np.float16).view(np.uint16)
    return bf16_bits(y32)


@gpu
@pytest.mark.parametrize("width", [64, 128, 256, "256_r64", "256_r64x2"])
@pytest.mark.parametrize("tma", [True, False])
def test_wgmma_half_outputs_through_shared_memory(width, tma, monkeypatch):
    """Unsplit wgmma launches with float16 / bfloat16 outputs store y through
    shared memory (stmatrix, then whole rows): every output equals the
    float32-output launch's value rounded to nearest-even, bit for bit, on
    the same inputs. Into a fresh array (16-byte stores where its rows are a
    multiple of 8 outputs, N = 1000; one element at a time for N_ODD), and,
    through the launch itself, into a column slice of a wider poisoned array
    at an odd element offset (as the tail launch's slice; element stores),
    whose other columns must stay untouched. M and N not multiples of the
    tiles, the last activation tile shifted (64-row blocks, M > 256); fresh
    inputs each round."""
    _need_wgmma()
    width = _force_wgmma_plan(monkeypatch, width, False, tma)
    cp = cupy_module()
    rng = np.random.default_rng()
    for n, m in ((N_ODD, 300), (1000, 17), (1000, 512)):
        c = case(n, 1024)
        x = cp.asarray(rng.standard_normal((m, 1024)).astype(np.float16))
        y32 = cp.asnumpy(matmul(x, c.w, dtype="float32", path="wgmma"))
        assert np.isfinite(y32).all()
        for out_dtype in ("float16", "bfloat16"):
            want = _round_f32_to(y32, out_dtype)
            y = matmul(x, c.w, dtype=out_dtype, path="wgmma")
            assert (cp.asnumpy(y.view(cp.uint16)) == want).all(), (n, m, out_dtype, "fresh output")
            wide = cp.full((m, n + 13), 0x7E00 if out_dtype == "float16" else 0x7FC1, dtype=cp.uint16)
            out = wide.view(cp.dtype(out_dtype))[:, 5:5 + n]  # (as the tail launch's column slice)
            wg._wgmma(cp, x, c.w, out, n, 1024, cp.cuda.Device().id)
            got = cp.asnumpy(wide)
            assert (got[:, 5:5 + n] == want).all(), (n, m, out_dtype, "strided output")
            assert (got[:, :5] == got[0, 0]).all() and (got[:, 5 + n:] == got[0, 0]).all(), "wrote outside out"


@gpu
@pytest.mark.parametrize("width", [128, 256])
@pytest.mark.parametrize("n", [N_ODD, 4096 + 36])
@pytest.mark.parametrize("tma", [True, False])
def test_wgmma_tail_launch(n, width, tma, monkeypatch):
    """A grid whose last wave is small (8 SMs faked: 33 weight tiles x 3
    activation tiles of 256 rows, or x 5 of 128 at two an SM) runs as an
    unsplit launch over whole waves and a second, split over K, on the last
    wave's weight rows (a column slice of the result); N - 4096 = 37 / 36:
    the split sums' scalar and float4 paths. Outputs poisoned first, float16
    and float32 x."""
    _need_wgmma()
    from cupyquant.gpu import tensor_map
    if tma and not tensor_map.available():
        pytest.skip("the CUDA driver cannot encode TMA tensor maps")
    monkeypatch.setattr(wg, "WGMMA_TMA", tma)
    monkeypatch.setattr(wg, "WGMMA_WIDE_MIN_ROUNDS", 0 if width == 256 else float("inf"))
    monkeypatch.setattr(wg, "WGMMA_WIDE_MIN_M", 0)
    monkeypatch.setattr(wg, "WGMMA_WIDE_MAX_EXTRA_ROWS", 1 << 30)
    monkeypatch.setattr(wg, "WGMMA_WIDE_SPLIT_MIN_K", float("inf"))
    monkeypatch.setattr(wg, "WGMMA_MIN_STAGES_PER_SPLIT", 4)
    real_info = rt.device_info
    monkeypatch.setattr(rt, "device_info", lambda dev: dict(real_info(dev), sm_count=8))
    m = 600
    tiles = -(-m // width) * 33
    slots = 8 * (2 if width == 128 else 1)
    assert wg._wgmma_plan(m, n, 4096, 8)[1] == 1 and 0 < tiles % slots <= slots // 2
    n_main = wg._wgmma_tail(m, n, width, 8)
    assert n_main == (33 - -(-(tiles % slots) // -(-m // width))) * 128 < n
    launched = []
    real = wg._wgmma_launch

    def spy(cp, x16, wdata, y2, N, K, width, splits, sps, dev, rows=128):
        launched.append((N, splits, y2.shape))
        return real(cp, x16, wdata, y2, N, K, width, splits, sps, dev, rows)
    monkeypatch.setattr(wg, "_wgmma_launch", spy)
    rng = np.random.default_rng()
    c = case(n, 4096)
    for x_dtype in ("float16", "float32"):
        launched.clear()
        err = run_check(c, m, x_dtype, "wgmma", rng)
        assert err <= tolerance("wgmma", x_dtype, None), (x_dtype, err)
        assert [(N, y_shape) for N, _, y_shape in launched] == [(n_main, (m, n)), (n - n_main, (m, n - n_main))]
        assert launched[0][1] == 1 and launched[1][1] > 1, launched
    counters = rt._counters.get((cupy_module().cuda.Device().id, cupy_module().cuda.get_current_stream().ptr))
    assert counters is not None and int(counters.sum()) == 0, "split counters not left zero"


def test_wgmma_tensor_maps_or_cp_async(monkeypatch):
    """The wgmma launch gets TMA tensor maps of x (box: the width, or M rounded
    up to 8 below it; 128-byte swizzle) and of the weights (boxes of 128 rows
    x 144 bytes, unswizzled, rows past N read as zero) where the driver
    encodes them, and none (the cp.async kernel) where it cannot, with the
    reason kept."""
    from cupyquant.gpu import tensor_map
    x16 = types.SimpleNamespace(data=types.SimpleNamespace(ptr=0x10000), device=types.SimpleNamespace(id=0))
    w = 0x200000  # the weights' address
    seen = []

    def encode(tmap, dtype, rank, ptr, dims, strides, box, elem, interleave, swizzle, *rest):
        seen.append((dtype, rank, ptr.value, tuple(dims), tuple(strides), tuple(box), swizzle))
        return 0
    monkeypatch.setattr(tensor_map, "_encode", encode)
    wg._w_tensor_map.cache_clear()
    maps = wg._tensor_maps(x16, w, 17, 1000, 4096, 128)
    assert len(maps) == 2 and all(isinstance(t, tensor_map.TensorMap) for t in maps)
    assert seen == [(6, 2, 0x10000, (4096, 17), (8192,), (64, 24), 3),       # float16, 128-byte swizzle
                    (0, 2, 0x200000, (2304, 1000), (2304,), (144, 128), 0)]  # bytes, no swizzle
    seen.clear()
    assert len(wg._tensor_maps(x16, w, 600, 1000, 4096, 256)) == 2
    assert seen == [(6, 2, 0x10000, (4096, 600), (8192,), (64, 256), 3)]    # the weights' map is cached
    monkeypatch.setattr(tensor_map, "_encode", lambda *a: 1)  # CUresult 1: the driver refuses
    monkeypatch.setattr(wg, "tma_error", {})
    wg._w_tensor_map.cache_clear()
    assert wg._tensor_maps(x16, w, 17, 1000, 4096, 128) == () and "CUresult 1" in wg.tma_error[0]
    monkeypatch.setattr(tensor_map, "_encode", False)  # no encoder in the driver
    assert wg._tensor_maps(x16, w, 17, 1000, 4096, 128) == ()
    wg._w_tensor_map.cache_clear()


def test_wgmma_plan():
    """Width 256 on many-tile grids above 128 rows, else 128 (64 up to
    WGMMA_NARROW_MAX_M rows) with split-K on small grids (at most 0.5 blocks
    an SM, 0.9 for 64-row blocks) into as many splits as fit two blocks an SM;
    256-row blocks split over K where 128-row ones would be one wave and K is
    long. Whole groups of 4 stages a split, at least
    WGMMA_MIN_STAGES_PER_SPLIT."""
    assert wg._wgmma_plan(512, 128256, 4096, 132) == (256, 1, 64)
    assert wg._wgmma_plan(512, 14336, 4096, 132) == (256, 1, 64)
    assert wg._wgmma_plan(1200, 4096, 4096, 132) == (128, 1, 64)     # 320 blocks of 128 x 128
    assert wg._wgmma_plan(512, 4096, 4096, 132) == (128, 1, 64)      # 128 blocks, K = 4096: no split
    assert wg._wgmma_plan(384, 4096, 4096, 132) == (128, 1, 64)      # 96 blocks: no split
    assert wg._wgmma_plan(512, 4096, 14336, 132) == (256, 2, 112)    # 128 blocks, long K: 64 x 2 of 256 rows
    assert wg._wgmma_plan(384, 4096, 14336, 132) == (256, 2, 112)
    assert wg._wgmma_plan(1000, 4096, 14336, 132) == (128, 1, 224)   # 256 blocks: two waves already
    assert wg._wgmma_plan(17, 14336, 4096, 132) == (64, 2, 32)       # 112 blocks of 64 rows: 2 splits
    assert wg._wgmma_plan(65, 14336, 4096, 132) == (128, 1, 64)      # 112 blocks of 128 rows: none
    assert wg._wgmma_plan(64, 4096, 14336, 132) == (64, 8, 28)       # 32 blocks (run 9)
    assert wg._wgmma_plan(128, 4096, 14336, 132) == (128, 8, 28)
    assert wg._wgmma_plan(256, 4096, 14336, 132) == (128, 4, 56)     # 64 blocks
    assert wg._wgmma_plan(17, 4096, 4096, 132) == (64, 4, 16)        # 32 blocks, 16 stages a split
    assert wg._wgmma_plan(17, 128256, 4096, 132) == (64, 1, 64)      # 1002 blocks, but M fits 64 rows
    assert wg._wgmma_plan(100, 128256, 4096, 132) == (128, 1, 64)
    assert wg._wgmma_plan(129, 128256, 4096, 132) == (256, 1, 64)
    assert wg._wgmma_plan(300, 14336, 4096, 132) == (128, 1, 64)     # 256-row blocks: 512 rows for 300
    assert wg._wgmma_plan(384, 128256, 4096, 132) == (128, 1, 64)
    assert wg._wgmma_plan(385, 128256, 4096, 132) == (256, 1, 64)
    for m, n, k in [(17, 4096, 4096), (64, 4096, 14336), (200, 130, 512), (3, 100, 256), (256, 4096, 14336),
                    (40, 8192, 2048), (100, 4096, 14336)]:
        width, splits, sps = wg._wgmma_plan(m, n, k, 132)
        assert width == (64 if m <= wg.WGMMA_NARROW_MAX_M else 128)
        assert sps % 4 == 0 and splits * sps >= k // 64 > (splits - 1) * sps
        assert splits == 1 or sps >= wg.WGMMA_MIN_STAGES_PER_SPLIT
        blocks = -(-n // 128) * -(-m // width)
        assert splits == 1 or blocks * splits <= wg.WGMMA_SPLIT_BLOCKS_PER_SM * 132
    # no split with the target at 0, or with both grid limits at 0 (session 14
    # run 10's sanitizer script set the target to 0 and met a division by zero here)
    for knobs in (("WGMMA_SPLIT_BLOCKS_PER_SM",), ("WGMMA_SPLIT_MAX_BLOCKS_PER_SM", "WGMMA_SPLIT_MAX_BLOCKS_PER_SM_N64")):
        saved = {knob: getattr(wg, knob) for knob in knobs}
        for knob in knobs:
            setattr(wg, knob, 0)
        try:
            for m, n, k in [(1, 1, 256), (17, 4096, 14336), (3, 100, 256), (100, 4096, 14336)]:
                assert wg._wgmma_plan(m, n, k, 132) == (64 if m <= 64 else 128, 1, k // 64)
        finally:
            for knob, value in saved.items():
                setattr(wg, knob, value)
    # a split never exceeds the groups of 4 stages K has
    for min_st in (4, 16, 64):
        saved = wg.WGMMA_MIN_STAGES_PER_SPLIT
        wg.WGMMA_MIN_STAGES_PER_SPLIT = min_st
        try:
            for k in (256, 512, 4096, 14336):
                for m, n in [(1, 128), (300, 4096)]:
                    width, splits, sps = wg._wgmma_plan(m, n, k, 132)
                    assert splits >= 1 and sps % 4 == 0 and splits * sps >= k // 64 > (splits - 1) * sps
        finally:
            wg.WGMMA_MIN_STAGES_PER_SPLIT = saved


def test_wgmma_choice(monkeypatch):
    """Thread blocks of 64 weight rows x 256 activation rows where they (or they
    split in two over K) make one wave of 0.75-1 an SM above WGMMA_WIDE_MIN_M
    rows and K <= WGMMA_R64_MAX_K; everywhere else the 128-row plan of
    _wgmma_plan."""
    assert wg._wgmma_choice(512, 4096, 4096, 132) == (64, 256, 1, 64)     # 64 x 2 = 128 blocks
    assert wg._wgmma_choice(384, 4096, 4096, 132) == (64, 256, 1, 64)
    assert wg._wgmma_choice(512, 4160, 4096, 132) == (64, 256, 1, 64)     # 65 x 2 = 130
    assert wg._wgmma_choice(512, 4352, 4096, 132) == (128, 128, 1, 64)    # 68 x 2 = 136: two waves
    assert wg._wgmma_choice(256, 4096, 4096, 132) == (64, 256, 2, 32)     # 64 blocks, split in two
    assert wg._wgmma_choice(256, 2048, 4096, 132) == (128,) + wg._wgmma_plan(256, 2048, 4096, 132)  # 32 x 2
    assert wg._wgmma_choice(128, 8192, 4096, 132) == (128,) + wg._wgmma_plan(128, 8192, 4096, 132)  # M <= 128
    assert wg._wgmma_choice(1000, 4096, 4096, 132) == (128, 128, 1, 64)   # 256 blocks
    assert wg._wgmma_choice(512, 14336, 4096, 132) == (128, 256, 1, 64)
    assert wg._wgmma_choice(512, 4096, 14336, 132) == (128, 256, 2, 112)  # long K: the 128-row plan
    for m, n, k in [(512, 4096, 4096), (300, 4096, 2048), (17, 4096, 4096), (600, 100, 256)]:
        rows, width, splits, sps = wg._wgmma_choice(m, n, k, 132)
        assert sps % 4 == 0 and splits * sps >= k // 64 > (splits - 1) * sps
        assert rows == 128 or (width == 256 and 0.75 * 132 <= splits * wg._wgmma_blocks(m, n, 256, 64) <= 132)
    monkeypatch.setattr(wg, "WGMMA_R64", False)
    assert wg._wgmma_choice(512, 4096, 4096, 132) == (128, 128, 1, 64)
    monkeypatch.setattr(wg, "WGMMA_R64", True)
    assert wg._wgmma_choice(512, 4096, 2048, 132) == (128, 128, 1, 32)    # K < WGMMA_SPLIT_MIN_K
    assert wg._wgmma_choice(512, 4096, 6144, 132) == (64, 256, 1, 96)
    assert wg._wgmma_choice(512, 4096, 8192, 132) == (128, 256, 2, 64)    # K > WGMMA_R64_MAX_K
    monkeypatch.setattr(wg, "WGMMA_R64_MAX_K", 8192)
    assert wg._wgmma_choice(512, 4096, 8192, 132) == (64, 256, 1, 128)
    monkeypatch.setattr(wg, "WGMMA_SPLIT_MIN_K", 1024)
    assert wg._wgmma_choice(512, 4096, 2048, 132) == (64, 256, 1, 32)
    assert wg._wgmma_choice(256, 4096, 2048, 132) == (64, 256, 2, 16)
    assert wg._wgmma_choice(256, 4096, 1024, 132) == (128,) + wg._wgmma_plan(256, 4096, 1024, 132)  # no 2 splits


def test_forced_mv_geometry_without_kernel(monkeypatch):
    """MV_GEOMETRY forced to a geometry that has no compiled kernel for the
    launch (float16 x_shared at (16, 32, 3)) is a clear ValueError before any
    GPU call, not CUDA_ERROR_NOT_FOUND; a compiled one passes the check."""
    import cupyquant.matmul_kernels as mk
    fake_cp = types.SimpleNamespace(float32=np.dtype(np.float32))
    monkeypatch.setattr(mv_plan, "MV_GEOMETRY", (16, 32, 3))
    with pytest.raises(ValueError, match=r"MV_GEOMETRY = \(16, 32, 3\) has no compiled kernel cq_q4_0_mv"):
        mv_plan._mv_plan(fake_cp, np.dtype(np.float16), np.dtype(np.float16), 2, 448, 256, 1, 132)
    monkeypatch.setattr(mv_plan, "MV_GEOMETRY", mk.MV_GEOMETRIES[1])
    reached = []

    def no_gpu(cp, name, smem, function=None):
        reached.append(name)
        raise RuntimeError("no GPU here")
    monkeypatch.setattr(rt, "_kernel_with_smem", no_gpu)
    with pytest.raises(RuntimeError, match="no GPU here"):
        mv_plan._mv_plan(fake_cp, np.dtype(np.float16), np.dtype(np.float16), 2, 448, 256, 1, 132)
    assert reached and reached[0] in mk.all_kernel_names()


def test_wgmma_tail_rows(monkeypatch):
    """The unsplit launch keeps whole waves where the last one would fill at
    most half the resident slots (one block of 256 rows an SM, two of 64 or
    128); the rest of the weight rows go to a split launch."""
    assert wg._wgmma_tail(512, 128256, 256, 132) == 990 * 128   # 2004 blocks: 15 waves + 24
    assert wg._wgmma_tail(1000, 128256, 256, 132) == 990 * 128  # 4008 blocks: 30 waves + 48
    assert wg._wgmma_tail(512, 14336, 256, 132) == 14336        # 224 blocks: last wave 92 of 132
    assert wg._wgmma_tail(512, 4096, 128, 132) == 4096          # one wave
    assert wg._wgmma_tail(17, 128256, 64, 132) == 128256        # 1002 blocks, 2 an SM: last wave 210 of 264
    assert wg._wgmma_tail(200, 8448, 128, 132) == 8448          # 132 blocks: one wave
    assert wg._wgmma_tail(200, 34000, 128, 132) == 264 * 128  # 266 tiles x 2 = 532 blocks: 2 waves + 4
    for m, n, width in [(512, 128256, 256), (300, 70000, 128), (64, 50000, 64), (1, 1, 64)]:
        rows = wg._wgmma_tail(m, n, width, 132)
        assert rows == n or (rows % 128 == 0 and 0 < rows < n)
    monkeypatch.setattr(wg, "WGMMA_TAIL", False)
    assert wg._wgmma_tail(512, 128256, 256, 132) == 128256


def test_wgmma_chosen_where_it_splits(monkeypatch):
    """The auto path takes the wgmma kernel on small grids exactly where its
    plan splits K (K >= WGMMA_SPLIT_MIN_K): 4096^2 at M = 17 (4 splits), not
    K = 2048 (matrix-vector / dequantize + GEMM as before)."""
    monkeypatch.setattr(dispatch, "_tensor_cores", lambda dev: True)
    monkeypatch.setattr(wg, "wgmma_available", lambda dev: True)
    monkeypatch.setattr(rt, "device_info", lambda dev: {"sm_count": 132})
    assert dispatch.choose_path(17, "float16", 0, 4096, 4096) == "wgmma"
    assert dispatch.choose_path(384, "float16", 0, 4096, 14336) == "wgmma"   # 256-row blocks, 2 splits
    assert dispatch.choose_path(17, "float16", 0, 4096, 2048) == "matvec"
    assert dispatch.choose_path(200, "float16", 0, 4096, 2048) == dispatch.NVIDIA_LARGE_M_PATH
    assert dispatch.choose_path(16, "float16", 0, 4096, 4096) == "matvec"    # one pass of the matrix-vector kernel
    assert dispatch.choose_path(17, "float16", 0, 14336, 4096) == "wgmma"   # 112 blocks: large enough


@gpu
@pytest.mark.parametrize("path", [None, "matvec", "mma", "dequant_gemm", "wgmma"])
def test_no_activation_rows(path):
    """M = 0: an empty result of the right shape (no launch)."""
    _need_wgmma(path)
    cp = cupy_module()
    c = case(N_ODD, 512)
    for xd in (cp.float32, cp.float16):
        y = matmul(cp.ones((0, 512), xd), c.w, path=path)
        assert y.shape == (0, N_ODD) and y.dtype == xd


@gpu
def test_wgmma_requirements_and_fallback():
    """K not a multiple of 256, or weights not 16-byte aligned: path="wgmma"
    says why; the automatic path takes dequant_gemm there (and is right)."""
    _need_wgmma()
    rng = np.random.default_rng()
    for n, k, offset, what in [(300, 800, 0, "multiple of 256"), (250, 512, 2, "16-byte aligned")]:
        c = case(n, k, offset)
        with pytest.raises(ValueError, match=what):
            run_check(c, 64, "float16", "wgmma", rng)
        err = run_check(c, 64, "float16", None, rng)
        assert err <= tolerance("dequant_gemm", "float16", None), err


# --------------------------------------- int8 matrix-vector kernel (GPU tests)
def _need_tensor_cores(path):
    if path in ("matvec_int8", "matvec_f16tc"):
        if not dispatch._tensor_cores(cupy_module().cuda.Device().id):
            pytest.skip(f"{path} needs NVIDIA sm_80+")


def _run_x(c: _Case, x_host, path, out_dtype="float32"):
    """matmul of the given activations into a NaN-poisoned out; float64 result."""
    cp = cupy_module()
    out = cp.full((x_host.shape[0], c.n), np.nan, dtype=out_dtype)
    y = matmul(cp.asarray(x_host), c.w, out=out, path=path)
    assert y is out
    return cp.asnumpy(y.astype(cp.float32)).astype(np.float64)


@gpu
@pytest.mark.parametrize("x_dtype", ["float32", "float16"])
@pytest.mark.parametrize("k", [32, 512, 4096 + 32 * 3])
@pytest.mark.parametrize("m", [1, 2, 3, 8])
def test_matvec_int8_accuracy(m, k, x_dtype):
    _need_tensor_cores("matvec_int8")
    rng = np.random.default_rng()
    c = case(4133, k)
    x = rng.standard_normal((m, k)).astype(x_dtype)
    y = _run_x(c, x, "matvec_int8")
    assert np.isfinite(y).all(), "some outputs were not written"
    err = _rel_err(y, x.astype(np.float64) @ c.w64.T)
    assert err <= 1e-5, err
    for od in ("float16", "bfloat16"):  # the other output types
        try:
            cupy_module().dtype(od)
        except TypeError:
            continue
        y = _run_x(c, x, "matvec_int8", od)
        assert np.isfinite(y).all()
        assert _rel_err(y, x.astype(np.float64) @ c.w64.T) <= tolerance("matvec_int8", x_dtype, od)


@gpu
@pytest.mark.parametrize("x_dtype", [np.float32, np.float16])
@pytest.mark.parametrize("n,k,offset", [(4133, 512, 0), (100, 4096, 0), (300, 800, 0), (250, 288, 1)])
def test_matvec_int8_adversarial(n, k, offset, x_dtype):
    """Outlier / zero / subnormal / 1e30-and-1e-30 blocks (see _adversarial_x),
    split-K (100 rows) and unaligned weights; also the same numbers as the
    CPU emulation of the kernel's arithmetic, to float32 rounding."""
    from cupyquant.testing import mvi8_matvec
    _need_tensor_cores("matvec_int8")
    rng = np.random.default_rng(5)
    c = case(n, k, offset)
    raw = cupy_module().asnumpy(c.w.data)
    for m in (1, 3, 8):
        x = _adversarial_x(rng, m, k, x_dtype)
        ref = x.astype(np.float64) @ c.w64.T
        y = _run_x(c, x, "matvec_int8")
        assert np.isfinite(y).all()
        assert _rel_err(y, ref) <= 1e-5, (m, _rel_err(y, ref))
        emu = mvi8_matvec(raw, n, k, x).astype(np.float64)
        assert _rel_err(y, emu) <= 1e-6, (m, _rel_err(y, emu))
    for scale in ((1e-30, 1e30) if x_dtype == np.float32 else (2.0 ** -20,)):
        x = (rng.standard_normal((2, k)) * scale).astype(x_dtype)
        y = _run_x(c, x, "matvec_int8")
        assert _rel_err(y, x.astype(np.float64) @ c.w64.T) <= 1e-5, scale


@gpu
@pytest.mark.parametrize("path", ["matvec_int8", "matvec_f16tc", "wgmma"])
def test_nonfinite_scales(path):
    """NaN / Inf scales d: non-finite outputs exactly where the float64
    reference is non-finite (the columns of the bad weight rows), the other
    outputs accurate (wgmma: float16 activations and weights, 2e-3)."""
    _need_tensor_cores(path)
    _need_wgmma(path)
    cp = cupy_module()
    rng = np.random.default_rng(13)
    n, k = 600, 512
    raw = random_q4_0(rng, n, k).reshape(-1, 18)
    bad_rows = [3, 17, 41, 599]
    for r, v in zip(bad_rows, [0x7E00, 0x7C00, 0xFC00, 0x7C01]):
        blk = r * (k // 32) + 5
        raw[blk, 0], raw[blk, 1] = v & 0xFF, v >> 8
    raw = raw.reshape(-1)
    w = QuantizedTensor("Q4_0", (n, k), cp.asarray(raw))
    w64 = Q4_0.decode(raw).reshape(n, k).astype(np.float64)
    for x_dtype in (np.float32, np.float16):
        x = rng.standard_normal((3, k)).astype(x_dtype)
        out = cp.full((3, n), 0.0, dtype=cp.float32)
        y = cp.asnumpy(matmul(cp.asarray(x), w, out=out, path=path))
        with np.errstate(invalid="ignore", over="ignore"):
            ref = x.astype(np.float64) @ w64.T
        assert (np.isfinite(y) == np.isfinite(ref)).all()
        assert (~np.isfinite(y)).any(axis=0).nonzero()[0].tolist() == bad_rows
        fin = np.isfinite(ref)
        tol = 2e-3 if path == "wgmma" else 1e-5
        assert np.linalg.norm(y[fin] - ref[fin]) <= tol * np.linalg.norm(ref[fin])


@gpu
@pytest.mark.parametrize("x_shared", [False, True])
@pytest.mark.parametrize("path", ["matvec_int8", "matvec_f16tc"])
def test_matvec_nonfinite_activations(path, x_shared, monkeypatch):
    """A NaN or an Inf among a row's float32 activations makes that row's
    outputs NaN and leaves the other rows finite (the tensor-core kernel's
    float16 parts: x_shared, a scale a K split, or not, a scale a row)."""
    _need_tensor_cores(path)
    _x_shared_everywhere(monkeypatch, x_shared)
    rng = np.random.default_rng(17)
    c = case(N_ODD, 512)
    x = rng.standard_normal((4, 512)).astype(np.float32)
    x[1, 100] = np.nan
    x[2, 7] = np.inf
    x[3, 300] = -np.inf
    y = _run_x(c, x, path)
    assert np.isnan(y[1:]).all() and np.isfinite(y[0]).all()


@gpu
@pytest.mark.parametrize("x_shared", [False, True])
@pytest.mark.parametrize("n,k", [(N_ODD, 512), (100, 4096 + 96)])
def test_matvec_f16tc_float32_activation_range(n, k, x_shared, monkeypatch):
    """float32 activations on the float16 tensor cores, each row (x_shared:
    each row of a K split; 100 weight rows split K) scaled by a power of two
    and split into two float16 parts: _adversarial_x's blocks (an outlier,
    zeros, float16 subnormals, 1e30 beside 1e-30), whole rows of 1e-30 and
    1e30, and rows whose values span 1e-20 .. 1e20. Every row within 1e-5 of
    float64, against that row's own norm (a row scaled wrongly would vanish
    in the norm of the whole result)."""
    _need_tensor_cores("matvec_f16tc")
    _x_shared_everywhere(monkeypatch, x_shared)
    launched = _spy_launches(monkeypatch)
    rng = np.random.default_rng(23)
    c = case(n, k)
    for m in (1, 4, 8):
        normal = rng.standard_normal((m, k))
        spans = normal * 10.0 ** rng.uniform(-20, 20, (m, k))
        for x in (_adversarial_x(rng, m, k, np.float32), normal * 1e-30, normal * 1e30, spans):
            x = x.astype(np.float32)
            launched.clear()
            y = _run_x(c, x, "matvec_f16tc")
            assert np.isfinite(y).all()
            assert _xs_kind(launched[-1][0]) == ("_xs" if x_shared and m <= 4 else ""), launched
            ref = x.astype(np.float64) @ c.w64.T
            row_err = np.linalg.norm(y - ref, axis=1) / np.linalg.norm(ref, axis=1)
            assert row_err.max() <= 1e-5, (m, row_err)


@gpu
def test_matvec_auto_uses_int8_where_configured(monkeypatch):
    """path="matvec" on sm_80+: the int8 kernel for the rows of MATVEC_INT8_M."""
    _need_tensor_cores("matvec_int8")
    calls = []
    monkeypatch.setattr(matvec, "_matvec_int8", lambda *a: calls.append("int8"))
    monkeypatch.setattr(matvec, "_matvec_tc", lambda *a: calls.append("f16tc"))
    cp = cupy_module()
    c = case(N_ODD, 512)
    monkeypatch.setattr(matvec, "MATVEC_INT8_M", {"float32": (2, 8)})
    for m in (1, 2, 8, 9):
        matmul(cp.zeros((m, 512), cp.float32), c.w, path="matvec")
    matmul(cp.zeros((4, 512), cp.float16), c.w, path="matvec")
    assert calls == ["f16tc", "int8", "int8", "f16tc", "f16tc"]


def _fake_occupancy_by_smem(monkeypatch) -> dict:
    """Fake qmatmul.runtime._occupancy: thread blocks an SM from the dynamic shared
    memory (228 KiB an SM as on the H200, 1 KiB of it reserved a thread
    block), at most 5, and for a build with a register bound at most that
    bound, or what the returned dict (bound -> thread blocks) says."""
    reg_limit = {}

    def occupancy(cp, kern, smem):
        by_smem = min(5, (228 << 10) // (smem + 1024))
        bound = _reg_bound(kern.name)
        return by_smem if bound is None else min(by_smem, reg_limit.get(bound, bound))
    monkeypatch.setattr(rt, "_occupancy", occupancy)
    return reg_limit


def test_mv_plan_queue_reg_bound(monkeypatch):
    """The float16 queue kernels of several rows take their build with
    registers for as many thread blocks an SM as their records leave room
    for, where that is 2 or 3 (mk.MV_QUEUE_REG_BOUNDS), and keep
    CQ_MV_MIN_BLOCKS's where more fit, where the bounded build would not keep
    that occupancy, for one row and with MV_XS_QUEUE_REG_BOUND off (CPU only:
    occupancy faked, _fake_occupancy_by_smem)."""
    import cupyquant.matmul_kernels as mk
    fake_cp = types.SimpleNamespace(float32=np.dtype(np.float32))
    _stub_kernel_builds(monkeypatch)
    reg_limit = _fake_occupancy_by_smem(monkeypatch)
    f16 = np.dtype(np.float16)

    def plan(m, tiles=8016, nb=128):  # 128256 rows, K = 4096 (128 blocks), 132 SMs
        kern, _, smem, grid_x, splits, _, x_shared, _ = mv_plan._mv_plan(fake_cp, f16, f16, m, nb, tiles, 1, 132)
        assert x_shared
        assert kern.name in mk.all_kernel_names(), kern.name
        return kern.name.replace("cq_q4_0_mv_tc_f16_f16_n1_r16_k64_s2", ""), grid_x, splits

    # records of 64 KiB (M = 8) / 48 / 32 / 16: 2 / 2 / 3 / 4 thread blocks an SM
    assert plan(8) == ("_xsqcb2", 264, 1)
    assert plan(6) == ("_xsqb2", 264, 1)
    assert plan(5) == ("_xsqb2", 264, 1)
    assert plan(4) == ("_xsqb3", 396, 1)
    assert plan(3) == ("_xsqb3", 396, 1)
    assert plan(2) == ("_xsq", 528, 1)
    assert plan(1) == ("_xsq1", 660, 1)
    assert plan(8, nb=64) == ("_xsqcb3", 396, 1)  # K = 2048: 32 KiB at M = 8
    assert plan(4, tiles=100)[0] == "_xs"         # no queue: a thread block a tile (or split)
    reg_limit[2] = 1                              # a build that would lose occupancy
    assert plan(8) == ("_xsqc", 264, 1)
    monkeypatch.setattr(mv_plan, "MV_XS_QUEUE_REG_BOUND", False)
    assert plan(8) == ("_xsqc", 264, 1)
    assert plan(4) == ("_xsq", 396, 1)
    with pytest.raises(ValueError, match="reg_bound"):
        mk.mv_tc_name(f16, f16, 1, mk.MV_QUEUE_GEOMETRY, x_shared=True, queue=True, one_row=True, reg_bound=2)
    with pytest.raises(ValueError, match="reg_bound"):
        mk.mv_tc_name(f16, f16, 1, mk.MV_QUEUE_GEOMETRY, x_shared=True, queue=True, reg_bound=4)


def test_mv_plan_unqueued_reg_bound(monkeypatch):
    """The float32 x_shared kernel without a queue of (16, 64, 2) ("_xs")
    takes its build with registers for as many thread blocks an SM as its
    records allow, where that is 3 (mk.MV_F32_REG_BOUNDS) and the grid fills
    them; not where the grid has fewer an SM, nor for float16 x, nor where
    the bounded build would lose that occupancy, nor with
    MV_XS_UNQUEUED_REG_BOUND off (CPU only: occupancy faked,
    _fake_occupancy_by_smem;
    float32 x kept off the queue kernel, MV_F32_QUEUE_ROWS)."""
    import cupyquant.matmul_kernels as mk
    fake_cp = types.SimpleNamespace(float32=np.dtype(np.float32))
    _stub_kernel_builds(monkeypatch)
    reg_limit = _fake_occupancy_by_smem(monkeypatch)
    monkeypatch.setattr(mv_plan, "MV_F32_QUEUE_ROWS", (0, 0))
    f16, f32 = np.dtype(np.float16), np.dtype(np.float32)

    def plan(x_dtype, m, tiles, nb=128):  # K = 4096 (128 blocks), 132 SMs
        kern, geo, _, grid_x, splits, _, x_shared, _ = mv_plan._mv_plan(fake_cp, x_dtype, x_dtype, m, nb, tiles, 1, 132)
        assert x_shared and geo == mk.MV_GEOMETRIES[1]
        assert kern.name in mk.all_kernel_names(), kern.name
        return kern.name.split("_s2")[-1], grid_x, splits

    # float32 x, 2 rows: 32 KiB of records leave room for 3 an SM
    assert plan(f32, 2, 896) == ("_xsb3", 396, 1)   # 14336 rows
    assert plan(f32, 2, 8016) == ("_xsb3", 396, 1)
    assert plan(f32, 2, 396) == ("_xsb3", 396, 1)   # the grid fills them exactly
    assert plan(f32, 2, 395) == ("_xs", 395, 1)     # ... and one short
    assert plan(f32, 2, 256) == ("_xs", 256, 1)     # 4096 rows: 2 an SM
    assert plan(f32, 1, 8016) == ("_xs", 528, 1)    # 16 KiB: 4 an SM
    assert plan(f32, 1, 256) == ("_xs", 256, 1)
    assert plan(f16, 1, 256) == ("_xs1", 256, 1)    # float16 x without a queue: no bounded builds
    assert plan(f16, 4, 256) == ("_xs", 256, 1)
    assert plan(f16, 1, 8016)[0] == "_xsq1"
    reg_limit[3] = 2                                # the build would not keep 3 an SM resident
    assert plan(f32, 2, 896) == ("_xs", 396, 1)
    reg_limit.clear()
    monkeypatch.setattr(mv_plan, "MV_XS_UNQUEUED_REG_BOUND", False)
    assert plan(f32, 2, 896) == ("_xs", 396, 1)
    with pytest.raises(ValueError, match="reg_bound"):
        mk.mv_tc_name(f32, f16, 1, mk.MV_GEOMETRIES[0], x_shared=True, reg_bound=2)
    with pytest.raises(ValueError, match="reg_bound"):
        mk.mv_tc_name(f32, f16, 1, mk.MV_QUEUE_GEOMETRY, x_shared=True, queue=True, reg_bound=4)
    with pytest.raises(ValueError, match="reg_bound"):
        mk.mv_tc_name(f16, f16, 1, mk.MV_GEOMETRIES[1], x_shared=True, reg_bound=2)
    with pytest.raises(ValueError, match="reg_bound"):
        mk.mv_tc_name(f32, f16, 1, mk.MV_GEOMETRIES[1], x_shared=True, reg_bound=2)
    assert mk.mv_tc_name(f32, f16, 1, mk.MV_GEOMETRIES[1], x_shared=True, reg_bound=3).endswith("_s2_xsb3")


def test_mv_plan_f32_queue(monkeypatch):
    """float32 x on the queue kernel ("_xsq") where the tiles outnumber the
    resident thread blocks, for the rows of MV_F32_QUEUE_ROWS: on (16, 64,
    2) also with records over MV_X_SHARED_ANY up to
    MV_X_SHARED_MANY_TILES["float32"] (M = 3-4 at K = 4096: 48-64 KiB), its
    builds with registers for the 2-3 thread blocks an SM those leave room
    for; rows outside the range keep the former plans (records over 32 KiB
    only on one-wave grids, on (16, 32, 3)); one-wave grids keep "_xs"
    (CPU only: occupancy faked from the shared memory as in
    test_mv_plan_queue_reg_bound)."""
    import cupyquant.matmul_kernels as mk
    fake_cp = types.SimpleNamespace(float32=np.dtype(np.float32))
    _stub_kernel_builds(monkeypatch)
    _fake_occupancy_by_smem(monkeypatch)
    f32 = np.dtype(np.float32)

    def plan(m, tiles=8016, nb=128):  # 128256 rows, K = 4096 (128 blocks), 132 SMs
        kern, geo, _, grid_x, splits, _, x_shared, _ = mv_plan._mv_plan(fake_cp, f32, f32, m, nb, tiles, 1, 132)
        assert kern.name in mk.all_kernel_names(), kern.name
        return kern.name.replace("cq_q4_0_mv_tc_f32_f32_n1_", ""), grid_x, splits, x_shared

    assert mv_plan.MV_F32_QUEUE_ROWS == (2, 4)                  # shipped: M = 1 is faster without (session 39)
    assert plan(1) == ("r16_k64_s2_xs", 528, 1, True)
    assert plan(2) == ("r16_k64_s2_xsqb3", 396, 1, True)   # 32 KiB of records: 3 an SM
    monkeypatch.setattr(mv_plan, "MV_F32_QUEUE_ROWS", (1, 4))
    assert plan(1) == ("r16_k64_s2_xsq", 528, 1, True)     # 16 KiB: 4 an SM
    assert plan(2) == ("r16_k64_s2_xsqb3", 396, 1, True)
    assert plan(3) == ("r16_k64_s2_xsqb2", 264, 1, True)   # 48 KiB: 2
    assert plan(4) == ("r16_k64_s2_xsqb2", 264, 1, True)   # 64 KiB
    assert plan(4, tiles=896) == ("r16_k64_s2_xsqb2", 264, 1, True)   # 14336 rows
    assert plan(2, tiles=256) == ("r16_k64_s2_xs", 256, 1, True)      # one wave: no queue
    assert plan(3, tiles=256)[0] == "r16_k32_s3_xs"                   # ... and (16, 32, 3) as before
    monkeypatch.setattr(mv_plan, "MV_F32_QUEUE_ROWS", (2, 3))
    assert plan(1) == ("r16_k64_s2_xs", 528, 1, True)
    assert plan(3) == ("r16_k64_s2_xsqb2", 264, 1, True)
    assert plan(4)[3] is False                              # 64 KiB: no x_shared without the queue
    monkeypatch.setattr(mv_plan, "MV_XS_QUEUE_KERNEL", ("float16",))
    assert plan(2) == ("r16_k64_s2_xsb3", 396, 1, True)    # the unqueued kernel's bounded build
    assert plan(3)[3] is False


def test_mv_plan_f32_one_row_long_k(monkeypatch):
    """One float32 row at long K (records over MV_X_SHARED_ANY). One wave
    (4096 rows): the x_shared kernel of (16, 32, 3) where its smaller ring
    lets 3 thread blocks an SM in against (16, 64, 2)'s 2 (K = 9216-11008),
    of (16, 64, 2) where both allow 2 (K = 12288-14336), (16, 32, 3) where
    (16, 64, 2)'s records do not fit (K = 15360, 64 KiB). Many tiles: the
    queue kernel (its 2-block build) from MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS
    rounds of its 264 resident thread blocks, x from global memory below
    that or with the knob at 0; records within MV_X_SHARED_ANY (K = 4096)
    keep "_xs"; two rows keep (16, 32, 3) (CPU only: occupancy faked from
    the shared memory, _fake_occupancy_by_smem)."""
    import cupyquant.matmul_kernels as mk
    fake_cp = types.SimpleNamespace(float32=np.dtype(np.float32),
                                    cuda=types.SimpleNamespace(Device=lambda: types.SimpleNamespace(id=0)))
    _stub_kernel_builds(monkeypatch)
    _fake_occupancy_by_smem(monkeypatch)
    monkeypatch.setattr(rt, "clusters_usable", lambda dev: False)  # (two rows at long K: the makespan split)
    f32 = np.dtype(np.float32)

    def plan(rows, k, m=1):  # 132 SMs
        kern, _, _, grid_x, splits, _, x_shared, _ = mv_plan._mv_plan(fake_cp, f32, f32, m, k // 32, rows // 16, 1, 132)
        assert kern.name in mk.all_kernel_names(), kern.name
        return kern.name.replace("cq_q4_0_mv_tc_f32_f32_n1_", ""), grid_x, splits

    for k in (9216, 10240, 11008, 15360):
        assert plan(4096, k) == ("r16_k32_s3_xs", 256, 1), k
    for k in (12288, 13312, 14336):
        assert plan(4096, k) == ("r16_k64_s2_xs", 256, 1), k
    assert plan(4096, 6144, m=2)[0] == "r16_k32_s3_xs"                 # 48 KiB, 2 an SM either way
    assert mv_plan.MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS == 1.33
    assert plan(5120, 13824) == ("r16_k64_s2", 320, 1)            # 1.21 rounds: x from global memory
    for rows in (6144, 8192, 14336):                                # 1.45 - 3.39 rounds
        assert plan(rows, 14336) == ("r16_k64_s2_xsqb2", 264, 1), rows
    assert plan(14336, 4096) == ("r16_k64_s2_xs", 528, 1)          # 16 KiB of records: 4 an SM
    monkeypatch.setattr(mv_plan, "MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS", 0)
    assert plan(8192, 14336) == ("r16_k64_s2", 512, 1)


def test_mv_plan_queue_kernel(monkeypatch):
    """The x_shared plan takes the "_xsq" kernel (next tile's first stage
    copied during this tile's last) only for float16 x (MV_XS_QUEUE_KERNEL)
    and float32 x of MV_F32_QUEUE_ROWS rows on grids with fewer thread
    blocks than tiles; one tile a thread block and other float32 x keep
    "_xs"; one float16 activation row takes the one-row
    variant of either ("_xsq1", "_xs1") unless MV_ONE_ROW_KERNEL is off.
    The queue kernels' builds that copy x with cp.async: "_xsqc" from
    MV_XS_COPY_FILL_FROM_M rows, "_xsq1c" where the tiles per thread block
    fall in MV_ONE_ROW_COPY_FILL_BAND (CPU only: occupancy
    faked at 5 an SM)."""
    fake_cp = types.SimpleNamespace(float32=np.dtype(np.float32))
    _stub_kernel_builds(monkeypatch)
    monkeypatch.setattr(rt, "_occupancy", lambda cp, kern, smem: 5)
    f16, f32 = np.dtype(np.float16), np.dtype(np.float32)

    def plan(x_dtype, m, tiles):  # K = 4096 (128 blocks), 132 SMs
        kern, _, _, grid_x, splits, _, x_shared, _ = mv_plan._mv_plan(fake_cp, x_dtype, f16, m, 128, tiles, 1, 132)
        assert x_shared
        return kern.name.replace("cq_q4_0_mv_tc_", ""), grid_x, splits
    assert plan(f16, 1, 8016) == ("f16_f16_n1_r16_k64_s2_xsq1", 660, 1)  # 128256 rows, one x row
    assert plan(f16, 2, 8016) == ("f16_f16_n1_r16_k64_s2_xsq", 660, 1)
    assert plan(f16, 7, 896) == ("f16_f16_n1_r16_k64_s2_xsq", 660, 1)    # 14336 rows
    assert plan(f16, 8, 896) == ("f16_f16_n1_r16_k64_s2_xsqc", 660, 1)   # 64 KiB records
    assert plan(f16, 8, 8016) == ("f16_f16_n1_r16_k64_s2_xsqc", 660, 1)
    assert plan(f16, 1, 896) == ("f16_f16_n1_r16_k64_s2_xsq1c", 660, 1)  # 1.36 tiles a thread block
    assert plan(f16, 1, 858) == ("f16_f16_n1_r16_k64_s2_xsq1", 660, 1)   # 1.3: below the band
    assert plan(f16, 1, 859) == ("f16_f16_n1_r16_k64_s2_xsq1c", 660, 1)
    assert plan(f16, 1, 1056) == ("f16_f16_n1_r16_k64_s2_xsq1c", 660, 1)  # 1.6
    assert plan(f16, 1, 1057) == ("f16_f16_n1_r16_k64_s2_xsq1", 660, 1)
    assert plan(f16, 1, 256) == ("f16_f16_n1_r16_k64_s2_xs1", 256, 1)    # 4096 rows: a block a tile
    assert plan(f16, 3, 256) == ("f16_f16_n1_r16_k64_s2_xs", 256, 1)
    assert plan(f32, 1, 8016)[0] == "f32_f16_n1_r16_k64_s2_xs"   # (test_mv_plan_f32_queue)
    assert plan(f32, 2, 8016)[0] == "f32_f16_n1_r16_k64_s2_xsq"
    monkeypatch.setattr(mv_plan, "MV_ONE_ROW_KERNEL", False)
    assert plan(f16, 1, 8016) == ("f16_f16_n1_r16_k64_s2_xsq", 660, 1)
    assert plan(f16, 1, 256) == ("f16_f16_n1_r16_k64_s2_xs", 256, 1)
    assert plan(f16, 1, 896) == ("f16_f16_n1_r16_k64_s2_xsq", 660, 1)
    monkeypatch.setattr(mv_plan, "MV_ONE_ROW_KERNEL", True)
    monkeypatch.setattr(mv_plan, "MV_XS_COPY_FILL_FROM_M", 99)
    monkeypatch.setattr(mv_plan, "MV_ONE_ROW_COPY_FILL_BAND", (0, 0))
    assert plan(f16, 8, 896) == ("f16_f16_n1_r16_k64_s2_xsq", 660, 1)
    assert plan(f16, 1, 896) == ("f16_f16_n1_r16_k64_s2_xsq1", 660, 1)
    monkeypatch.setattr(mv_plan, "MV_XS_QUEUE_KERNEL", ())
    assert plan(f16, 1, 8016) == ("f16_f16_n1_r16_k64_s2_xs1", 660, 1)
    assert plan(f16, 2, 8016) == ("f16_f16_n1_r16_k64_s2_xs", 660, 1)
