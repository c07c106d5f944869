"""cupyquant.matmul with NumPy x and host blocks (cupyquant.host_matmul): the
same accuracy bar as the GPU's matrix-vector path, every output element
written, the same argument errors. No GPU needed."""

from __future__ import annotations

import numpy as np
import pytest
from gguf import GGMLQuantizationType as T, GGUFWriter

import cupyquant.host_matmul as hm
from cupyquant import FORMATS, QuantizedTensor, load_gguf, matmul
from cupyquant.testing import reference, sane_blocks

Q4_0 = FORMATS["Q4_0"]


def _weights(n: int, k: int, seed: int):
    raw = sane_blocks(Q4_0, n * k // 32, np.random.default_rng(seed))
    return QuantizedTensor("Q4_0", (n, k), raw), reference(Q4_0, raw).reshape(n, k).astype(np.float64)


def _rel_err(y, ref) -> float:
    return float(np.linalg.norm(y.astype(np.float64) - ref) / np.linalg.norm(ref))


@pytest.mark.parametrize("m", [1, 2, 3, 8, 17, 512])
def test_accuracy_against_float64(m):
    """Fresh inputs, N a multiple of no tile, output poisoned first: float32 x
    within 1e-5 of a float64 product with the dequantized weights (the
    matrix-vector bar), float16 x and result within 2e-3 (the matrix-matrix bar)."""
    n, k = 1001, 1024
    w, w64 = _weights(n, k, seed=m)
    rng = np.random.default_rng(100 + m)
    x = rng.standard_normal((m, k)).astype(np.float32)
    out = np.full((m, n), np.nan, np.float32)
    y = matmul(x, w, out=out)
    assert y is out and np.isfinite(y).all()
    assert _rel_err(y, x.astype(np.float64) @ w64.T) <= 1e-5
    x16 = x.astype(np.float16)
    y16 = matmul(x16, w)
    assert y16.dtype == np.float16 and y16.shape == (m, n)
    assert _rel_err(y16, x16.astype(np.float64) @ w64.T) <= 2e-3
    # float32 products and sums, rounded once to float16 at the end
    np.testing.assert_array_equal(y16.view(np.uint16),
                                  matmul(x16, w, dtype=np.float32).astype(np.float16).view(np.uint16))


def test_slabs_cover_every_row(monkeypatch):
    """W in slabs of 3 rows (the last one shorter): the same result as one slab."""
    n, k = 1000, 256
    w, w64 = _weights(n, k, seed=7)
    x = np.random.default_rng(8).standard_normal((5, k)).astype(np.float32)
    whole = matmul(x, w)
    monkeypatch.setattr(hm, "HOST_SLAB_BYTES", 3 * 4 * k)
    sliced = matmul(x, w, out=np.full((5, n), np.nan, np.float32))
    assert np.isfinite(sliced).all()
    np.testing.assert_allclose(sliced, whole, rtol=1e-6, atol=1e-6 * np.abs(whole).max())
    assert _rel_err(sliced, x.astype(np.float64) @ w64.T) <= 1e-5


def test_out_over_x(monkeypatch):
    """out= the very memory of x (N = K), W in several slabs: every slab reads
    the x given, not the results of the slabs before it."""
    k = 64
    w, w64 = _weights(k, k, seed=9)
    monkeypatch.setattr(hm, "HOST_SLAB_BYTES", 8 * 4 * k)
    x = np.random.default_rng(10).standard_normal((3, k)).astype(np.float32)
    ref = x.astype(np.float64) @ w64.T
    y = matmul(x, w, out=x)
    assert y is x and _rel_err(y, ref) <= 1e-5


def test_shapes_dtypes_and_raw_buffers():
    w, w64 = _weights(40, 64, seed=3)
    x = np.random.default_rng(4).standard_normal((2, 3, 64)).astype(np.float32)
    y = matmul(x, w, dtype=np.float16)
    assert y.shape == (2, 3, 40) and y.dtype == np.float16
    np.testing.assert_array_equal(y.view(np.uint16), matmul(x, w).astype(np.float16).view(np.uint16))
    ref = (x.astype(np.float64) @ w64.T).astype(np.float32).astype(np.float16)
    assert np.abs(y.astype(np.float32) - ref.astype(np.float32)).max() <= 2 ** -8 * np.abs(ref).max()
    assert matmul(np.zeros((0, 64), np.float32), w).shape == (0, 40)
    # FORMATS["Q4_0"].matmul on a raw host buffer
    y2 = Q4_0.matmul(x[0], w.data, (40, 64))
    np.testing.assert_array_equal(y2, matmul(x[0], w))


def test_quantized_cpu_load_multiplies(tmp_path):
    n, k = 24, 128
    raw = sane_blocks(Q4_0, n * k // 32, np.random.default_rng(5))
    writer = GGUFWriter(tmp_path / "m.gguf", "test")
    writer.add_tensor("w", raw.reshape(n, k // 32 * 18), raw_dtype=T.Q4_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    q = load_gguf(tmp_path / "m.gguf", device="cpu", quantized=True)["w"]
    x = np.random.default_rng(6).standard_normal((1, k)).astype(np.float32)
    ref = x.astype(np.float64) @ reference(Q4_0, raw).reshape(n, k).astype(np.float64).T
    assert _rel_err(matmul(x, q), ref) <= 1e-5


def test_argument_errors():
    w, _ = _weights(8, 64, seed=1)
    x = np.zeros((2, 64), np.float32)
    with pytest.raises(ValueError, match="path='matvec' picks a GPU kernel"):
        matmul(x, w, path="matvec")
    with pytest.raises(TypeError, match="bfloat16 only on the GPU"):
        matmul(x, w, dtype="float64")
    with pytest.raises(TypeError, match=r"\(bfloat16 only on the GPU\), got bfloat16"):
        matmul(x, w, dtype="bfloat16")
    with pytest.raises(TypeError, match="out must be a NumPy array, got list"):
        matmul(x, w, out=[[0.0] * 8] * 2)
    with pytest.raises(TypeError, match="x must be float16 or float32"):
        matmul(x.astype(np.float64), w)
    with pytest.raises(ValueError, match="last dimension must be K = 64"):
        matmul(np.zeros((2, 32), np.float32), w)
    with pytest.raises(ValueError, match=r"out has shape \(2, 7\), expected \(2, 8\)"):
        matmul(x, w, out=np.empty((2, 7), np.float32))
    with pytest.raises(ValueError, match="C-contiguous and writable"):
        matmul(x, w, out=np.empty((8, 2), np.float32).T)
    frozen = np.empty((2, 8), np.float32)
    frozen.setflags(write=False)
    with pytest.raises(ValueError, match="C-contiguous and writable"):
        matmul(x, w, out=frozen)
    with pytest.raises(TypeError, match="disagrees with out.dtype"):
        matmul(x, w, out=np.empty((2, 8), np.float32), dtype=np.float16)
    class DeviceBlocks:   # stands for a CuPy array: uint8, not a NumPy array
        dtype, size = np.dtype(np.uint8), w.data.size

        def reshape(self, *shape):
            return self
    with pytest.raises(TypeError, match="the weight's blocks are on the GPU"):
        matmul(x, QuantizedTensor("Q4_0", (8, 64), DeviceBlocks()))
    with pytest.raises(TypeError, match="fused matmul supports Q4_0 weights only"):
        matmul(x, QuantizedTensor("Q8_0", (8, 64), np.zeros(8 * 2 * 34, np.uint8)))
