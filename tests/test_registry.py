"""The registry: contents, layouts against gguf, lookups and errors."""

import numpy as np
import pytest
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T, quants

import cupyquant
from cupyquant import FORMATS, UnsupportedFormatError


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
    out = np.empty((4, 32), np.float16)
    assert fmt.dequant(raw, out=out) is out


def test_cpu_path_does_not_import_cupy():
    import subprocess, sys
    code = ("import sys, numpy as np, cupyquant as c; c.FORMATS['Q4_K'].decode(np.zeros(144, np.uint8));"
            "assert 'cupy' not in sys.modules, 'cupy imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_platform_answers_without_gpu():
    from cupyquant.gpu import platform
    assert platform.backend() in (None, "cuda", "rocm")
    assert isinstance(platform.gpu_available(), bool)
    assert isinstance(platform.describe(), str)
