"""The registry: contents, layouts against gguf, lookups and errors."""

import re

import gguf
import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T, quants

import cupyquant
from cupyquant import FORMATS, UnsupportedFormatError
from cupyquant.quantized import QuantizedTensor
from cupyquant.testing import assert_dequant_into, reference, run_with_cupy_stub, sane_blocks


def gguf_dequantizable():
    """Every type gguf.quants.dequantize handles (it raises NotImplementedError otherwise)."""
    out = []
    for t in T:
        bs, ts = GGML_QUANT_SIZES[t]
        try:
            with np.errstate(all="ignore"):
                quants.dequantize(np.zeros((1, ts), np.uint8), t)
        except NotImplementedError:
            continue
        out.append(t.name)
    return out


def test_registry_holds_every_type_gguf_can_dequantize():
    assert sorted(gguf_dequantizable()) == sorted(FORMATS)


def test_known_layouts():
    assert (FORMATS["Q4_0"].block_size, FORMATS["Q4_0"].type_size) == (32, 18)
    assert FORMATS["Q8_0"].type_size == 34
    assert FORMATS["Q4_K"].type_size == 144
    assert FORMATS["Q6_K"].type_size == 210


@pytest.mark.parametrize("name", list(FORMATS))
def test_format_attributes(name):
    fmt = FORMATS[name]
    assert fmt.name == name
    assert fmt.qtype == T[name]
    assert (fmt.block_size, fmt.type_size) == GGML_QUANT_SIZES[T[name]]
    assert fmt.block_dtype.itemsize == fmt.type_size
    assert FORMATS[T[name]] is fmt and FORMATS[T[name].value] is fmt and FORMATS[name.lower()] is fmt
    assert name in FORMATS and T[name] in FORMATS


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        FORMATS["Q4_0"] = None
    with pytest.raises(TypeError):
        del FORMATS["Q4_0"]


@pytest.mark.parametrize("key,named", [("Q9_9", "Q9_9"), ("q8_1", "Q8_1"), (T.Q8_K, "Q8_K"),
                                       (T.I32, "I32"), (9999, "9999"), (41, "Q1_0"), ("", "''"),
                                       (None, "None"), (3.5, "3.5")])
def test_unknown_or_unsupported_type(key, named):
    with pytest.raises(UnsupportedFormatError) as e:
        FORMATS[key]
    assert named.upper() in str(e.value).upper()
    assert key not in FORMATS


@pytest.mark.parametrize("name", ["Q4_0", "Q4_K", "F16", "IQ2_XXS"])
def test_wrong_buffer_length(name):
    fmt = FORMATS[name]
    with pytest.raises(ValueError, match=f"{name}.*not a whole number"):
        fmt.decode(np.zeros(fmt.type_size * 3 + 1, np.uint8))


def test_bad_shape_and_dtype():
    fmt = FORMATS["Q4_0"]
    raw = np.zeros(18 * 4, np.uint8)
    with pytest.raises(ValueError, match="shape"):
        fmt.dequant(raw, shape=(3, 32))
    with pytest.raises(ValueError, match="dtype"):
        fmt.decode(raw, dtype=np.int32)
    with pytest.raises(ValueError, match="uint8"):
        fmt.decode(np.zeros(18, np.float32))
    with pytest.raises(TypeError):
        fmt.decode([1, 2, 3])
    _check_host_out(fmt, (4, 32), np.float16)
    _check_host_out(fmt, (4, 32), np.float32)


def _check_host_out(fmt, out_shape, out_dtype, **kwargs):
    """dequant(out=...) on the host returns ``out`` and writes every value of
    it: random finite blocks into an ``out`` full of NaN, compared bit for bit
    with gguf's float32 values (rounded once to float16 for a float16 out)."""
    n = int(np.prod(out_shape))
    raw = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(n))
    expected = reference(fmt, raw).astype(out_dtype)
    assert np.isfinite(expected).all()  # so that a NaN left in out is a value not written
    assert_dequant_into(fmt, raw, out_shape, out_dtype, expected, **kwargs)


def test_cpu_path_does_not_import_cupy(tmp_path):
    """Decoding, dequant(out=...), QuantizedTensor and load_gguf on the CPU,
    and importing the GPU loader and the matmul module, import no CuPy:
    checked against a stub cupy that records its imports (CuPy being absent
    here, sys.modules alone would show nothing)."""
    path = tmp_path / "small.gguf"
    rng = np.random.default_rng(5)
    w = gguf.GGUFWriter(str(path), "test")
    for name, qtype in (("a", T.Q4_0), ("b", T.Q4_K), ("c", T.IQ2_XXS)):
        bs, ts = GGML_QUANT_SIZES[qtype]
        w.add_tensor(name, rng.integers(0, 256, (2, 256 // bs * ts), dtype=np.uint8), raw_dtype=qtype)
    w.add_tensor("n", np.ones(64, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    run_with_cupy_stub(tmp_path, f"""
import numpy as np
from cupyquant import FORMATS, QuantizedTensor, load_gguf
for fmt in FORMATS.values():
    raw = np.zeros(2 * fmt.type_size, np.uint8)
    fmt.decode(raw); fmt.decode(raw, dtype=np.float16); fmt.dequant(raw)
    fmt.dequant(raw, out=np.empty(2 * fmt.block_size, np.float32))
QuantizedTensor("Q4_K", (1, 256), np.zeros(144, np.uint8)).dequant()
t = load_gguf({str(path)!r}, device="cpu")
assert sorted(t) == ["a", "b", "c", "n"] and t["b"].shape == (2, 256)
t = load_gguf({str(path)!r}, device="cpu", quantized=True)
t["a"].dequant()
import cupyquant.gpu.loader, cupyquant.qmatmul  # importable on CPU-only installs
""")


def test_platform_answers_without_gpu():
    from cupyquant.gpu import platform
    assert platform.backend() in (None, "cuda", "rocm")
    assert isinstance(platform.gpu_available(), bool)
    assert isinstance(platform.describe(), str)


@pytest.mark.parametrize("key", [gguf.LlamaFileType.MOSTLY_Q8_0, gguf.LlamaFileType.MOSTLY_Q4_K_S,
                                 gguf.GGUFValueType.STRING])
def test_members_of_other_enums_are_not_type_ids(key):
    """A file type (general.file_type) or a value type is an int too, but not a
    ggml type id: LlamaFileType.MOSTLY_Q8_0 is 7, and ggml type 7 is Q5_1."""
    with pytest.raises(TypeError, match=rf"{type(key).__name__}\.{key.name} is not a ggml type"):
        FORMATS[key]
    with pytest.raises(TypeError, match=type(key).__name__):
        cupyquant.get_format(key)
    assert key not in FORMATS
    # plain and NumPy integers stay type ids
    assert FORMATS[int(key)].qtype == T(int(key))
    assert FORMATS[np.int32(int(key))].qtype == T(int(key))


def test_host_output_dtype_errors():
    fmt = FORMATS["Q4_0"]
    raw = np.zeros(18 * 4, np.uint8)
    read_only = np.empty((4, 32), np.float32)
    read_only.setflags(write=False)
    with pytest.raises(ValueError, match=r"Q4_0: out is read-only"):
        fmt.dequant(raw, out=read_only)
    bf16 = r"Q4_0: on the host the output dtype must be float32 or float16, got 'bfloat16' " \
           r"\(bfloat16 only on the GPU\)"
    for call in (lambda: fmt.dequant(raw, dtype="bfloat16"),
                 lambda: fmt.decode(raw, dtype="bfloat16"),
                 lambda: QuantizedTensor("Q4_0", (4, 32), raw).dequant(dtype="bfloat16")):
        with pytest.raises(ValueError, match=bf16):
            call()
    with pytest.raises(ValueError, match=r"Q4_0: unknown dtype 'bogus' \(.*float32 or float16\)"):
        fmt.dequant(raw, dtype="bogus", out=np.empty(128, np.float32))
    with pytest.raises(ValueError, match=r"Q4_0: unknown dtype 'bogus'"):
        fmt.decode(raw, dtype="bogus")
    with pytest.raises(ValueError, match=r"float32 or float16, got dtype\('float64'\)"):
        fmt.dequant(raw, out=np.empty(128, np.float64))
    _check_host_out(fmt, (128,), np.float16, dtype="float16")
    _check_host_out(fmt, (128,), np.float32, dtype=np.float32)


@pytest.mark.parametrize("shape,dim", [((4.7, 32), "4.7"), (("4", 32), "'4'"), ((None, 32), "None"),
                                       ((4, 32.0), "32.0"), ((True, 128), "True")])
def test_non_integer_dimensions(shape, dim):
    fmt = FORMATS["Q4_0"]
    raw = np.zeros(18 * 4, np.uint8)
    index = next(i for i, d in enumerate(shape) if repr(d) == dim)
    pattern = rf"dimension {index} of shape .* is (a bool \()?{re.escape(dim)}"
    with pytest.raises(TypeError, match="QuantizedTensor: " + pattern):
        QuantizedTensor("Q4_0", shape, raw)
    with pytest.raises(TypeError, match="Q4_0: " + pattern):
        fmt.dequant(raw, shape=shape)


def test_shapes_as_numpy_does():
    """Integers of any kind; a bare integer n is the shape (n,)."""
    fmt = FORMATS["Q4_0"]
    raw = np.zeros(18 * 4, np.uint8)
    assert QuantizedTensor("Q4_0", 128, raw).shape == (128,)
    assert QuantizedTensor("Q4_0", np.int64(128), raw).shape == (128,)
    assert QuantizedTensor("Q4_0", (np.int32(4), 32), raw).shape == (4, 32)
    assert QuantizedTensor("Q4_0", np.array([4, 32]), raw).shape == (4, 32)
    assert type(QuantizedTensor("Q4_0", (np.int32(4), 32), raw).shape[0]) is int
    assert fmt.dequant(raw, shape=128).shape == (128,)
    assert fmt.dequant(raw, shape=np.array(128)).shape == (128,)
    assert fmt.dequant(raw, shape=[np.uint8(4), 32]).shape == (4, 32)
    with pytest.raises(TypeError, match=r"Q4_0: shape must be an integer or a sequence of "
                                        r"integers, got 4\.5"):
        fmt.dequant(raw, shape=4.5)
    with pytest.raises(ValueError, match=r"QuantizedTensor 'w': bad shape \(0, 32\)"):
        QuantizedTensor("Q4_0", (0, 32), raw, name="w")


def test_quantized_tensor_data_must_be_uint8_array():
    raw = np.zeros(18 * 4, np.uint8)
    with pytest.raises(TypeError, match=r"QuantizedTensor 'w': data must be a NumPy or CuPy uint8 "
                                        r"array, got bytes"):
        QuantizedTensor("Q4_0", (4, 32), raw.tobytes(), name="w")
    with pytest.raises(TypeError, match=r"data must be a NumPy or CuPy uint8 array, got list"):
        QuantizedTensor("Q4_0", (4, 32), list(raw))
    for other in (raw.view(np.int8), raw.view(np.float32)):
        with pytest.raises(TypeError, match=rf"data must be a uint8 array, got an array of "
                                            rf"{other.dtype}"):
            QuantizedTensor("Q4_0", (4, 32), other)
    with pytest.raises(ValueError, match=r"Q4_0 \(4, 32\) needs 72 bytes, got 54"):
        QuantizedTensor("Q4_0", (4, 32), raw[:54])


def test_strided_memoryview():
    fmt = FORMATS["Q4_0"]
    doubled = np.repeat(np.zeros(18 * 4, np.uint8), 2).tobytes()
    with pytest.raises(ValueError, match=r"Q4_0: the memoryview is not C-contiguous"):
        fmt.dequant(memoryview(doubled)[::2])
    assert fmt.dequant(memoryview(doubled)[:72]).shape == (128,)
