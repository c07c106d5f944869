"""cupyquant.matmul: fused Q4_0 x @ W.T.

GPU tests compare every path with a float64 reference computed from the
dequantized weights (NumPy decoder), on fresh random inputs for each check,
with outputs poisoned (NaN) first. They are skipped cleanly without a GPU.
The argument checks at the top run without CuPy.
"""

from __future__ import annotations

import numpy as np
import pytest

from cupyquant import FORMATS, QuantizedTensor
from cupyquant.gpu.platform import cupy_module, gpu_available
from cupyquant.matmul import MatmulFormatError, matmul

Q4_0 = FORMATS["Q4_0"]


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
    with pytest.raises(TypeError):
        matmul(np.zeros((2, 64), np.float32), np.zeros((8, 64), np.float32))


def test_rejects_other_formats():
    w = QuantizedTensor("Q8_0", (8, 64), np.zeros(8 * 2 * 34, np.uint8))
    with pytest.raises(MatmulFormatError):
        matmul(np.zeros((2, 64), np.float32), w)
    with pytest.raises(TypeError):  # MatmulFormatError is a TypeError too
        matmul(np.zeros((2, 64), np.float32), w)


def test_rejects_k_not_multiple_of_block():
    with pytest.raises(ValueError):
        QuantizedTensor("Q4_0", (8, 48), np.zeros(8 * 18, np.uint8))
    with pytest.raises(ValueError):
        Q4_0.matmul(np.zeros((2, 48), np.float32), np.zeros(8 * 18, np.uint8), (8, 48))


def test_rejects_3d_weight_and_bad_path():
    w3 = QuantizedTensor("Q4_0", (2, 8, 64), np.zeros(2 * 8 * 2 * 18, np.uint8))
    with pytest.raises(ValueError):
        matmul(np.zeros((2, 64), np.float32), w3)
    w = QuantizedTensor("Q4_0", (8, 64), np.zeros(8 * 2 * 18, np.uint8))
    with pytest.raises(ValueError):
        matmul(np.zeros((2, 64), np.float32), w, path="cublas")


def test_rejects_host_activations():
    w = QuantizedTensor("Q4_0", (8, 64), np.zeros(8 * 2 * 18, np.uint8))
    with pytest.raises(TypeError):
        matmul(np.zeros((2, 64), np.float32), w)


def test_kernel_source_is_listed_for_offline_compile():
    from cupyquant import matmul_kernels as mk
    from cupyquant.offline_compile import all_sources
    src = all_sources().get("matmul Q4_0")
    assert src is not None and src == mk.matmul_source()
    assert mk.XPREP_NAME in src
    for rt, kb, st in mk.MV_GEOMETRIES:  # every geometry the host may launch is instantiated
        assert f"CQ_MV_TC_GEOM(ON, OT, {rt}, {kb}, {st})" in src


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
    if path in ("matvec", "matvec_generic"):
        tol = 1e-5
    else:  # float16 activations / weights, float32 accumulation
        tol = 2e-3
    return max(tol, tol_out)


MS = [1, 2, 3, 8, 17, 512]
N_ODD = 4096 + 37  # a multiple of no tile size (16, 64, 128)


@gpu
@pytest.mark.parametrize("x_dtype", ["float32", "float16"])
@pytest.mark.parametrize("m", MS)
@pytest.mark.parametrize("path", ["matvec", "mma", "dequant_gemm", None])
def test_paths_accuracy(path, m, x_dtype):
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
@pytest.mark.parametrize("path", ["matvec", "mma", "matvec_generic", "mma_generic"])
@pytest.mark.parametrize("m", [1, 5, 16, 130])
def test_shapes_and_alignment(n, k, offset, path, m):
    rng = np.random.default_rng()
    c = case(n, k, offset)
    for x_dtype in ("float32", "float16"):
        err = run_check(c, m, x_dtype, path, rng, out_dtype="float32")
        assert err <= tolerance(path, x_dtype, "float32"), (x_dtype, err)


@gpu
@pytest.mark.parametrize("out_dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("path", ["matvec", "mma", "dequant_gemm"])
def test_out_dtypes_and_batch_dims(out_dtype, path):
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
    import cupyquant.matmul as mm
    monkeypatch.setattr(mm, "DEQUANT_SCRATCH_BYTES", 512 * 2 * 1000)  # 1000 rows a slab
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
    np.testing.assert_array_equal(cp.asnumpy(dev), host)
    dev16 = Q4_0.dequant(cp.asarray(raw), dtype="float16")
    np.testing.assert_array_equal(cp.asnumpy(dev16), host.astype(np.float16))


@gpu
def test_gpu_argument_errors():
    cp = cupy_module()
    c = case(N_ODD, 512)
    with pytest.raises(ValueError):
        matmul(cp.zeros((2, 256), cp.float32), c.w)           # K mismatch
    with pytest.raises(TypeError):
        matmul(cp.zeros((2, 512), cp.float64), c.w)           # dtype
    with pytest.raises(TypeError):
        matmul(cp.zeros((2, 512), cp.int32), c.w)
    with pytest.raises(ValueError):
        matmul(cp.zeros((2, 512), cp.float32), c.w, out=cp.zeros((2, 10), cp.float32))
    with pytest.raises(TypeError):
        matmul(cp.zeros((2, 512), cp.float32), c.w, out=cp.zeros((2, N_ODD), cp.float16),
               dtype="float32")
    with pytest.raises(ValueError):
        matmul(cp.zeros((2, 512), cp.float32), c.w,
               out=cp.zeros((N_ODD, 2), cp.float32).T)       # not C-contiguous
    with pytest.raises(TypeError):
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
def test_auto_path_choice():
    from cupyquant.matmul import choose_path
    assert choose_path(1, "float32") == "matvec"
    assert choose_path(8, "float16") == "matvec"
    assert choose_path(512, "float16") in ("mma", "dequant_gemm")
