"""The GGUF reader (cupyquant.gguf_file) and the CPU path of load_gguf.

Files are written with gguf.GGUFWriter (or, for malformed ones, byte by byte)
and read back; everything is compared with gguf.GGUFReader and
gguf.quants.dequantize.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import struct

import numpy as np
import pytest
from hypothesis import given, strategies as st
from gguf import (GGML_QUANT_SIZES, GGMLQuantizationType as T, GGUFReader, GGUFValueType as V,
                  GGUFWriter, quants)

import cupyquant
from cupyquant import GGUFError
from cupyquant.gguf_file import GGUFFile, TensorInfo, open_gguf
from cupyquant.loader import GGUFTensors, load_gguf, open_model, split_paths
from cupyquant.testing import (LARGE_TOKENIZER, assert_bit_exact, make_blocks, reference,
                               write_tokenizer_sized_gguf)

# ------------------------------------------------------------------ helpers
_NP_INT_TYPES = {T.I8: np.int8, T.I16: np.int16, T.I32: np.int32, T.I64: np.int64,
                 T.F64: np.float64}


def _gguf_can_quantize(qtype) -> bool:
    try:
        quants.quantize(np.zeros((1, 256), np.float32), qtype)
        return True
    except NotImplementedError:
        return False


def _gguf_can_dequantize(qtype) -> bool:
    bs, ts = GGML_QUANT_SIZES[qtype]
    try:
        with np.errstate(all="ignore"):
            quants.dequantize(np.zeros((1, ts), np.uint8), qtype)
        return True
    except NotImplementedError:
        return False


def _raw_for(qtype, shape, rng) -> np.ndarray:
    """Valid bytes of a tensor of ``qtype`` with logical ``shape`` (flat uint8)."""
    n = math.prod(shape)
    bs, ts = GGML_QUANT_SIZES[qtype]
    if qtype in _NP_INT_TYPES:
        return rng.integers(-100, 100, n).astype(_NP_INT_TYPES[qtype]).view(np.uint8)
    if qtype in (T.F32, T.F16) or (_gguf_can_quantize(qtype) and qtype != T.BF16):
        x = rng.standard_normal(shape).astype(np.float32)
        return np.ascontiguousarray(quants.quantize(x, qtype)).reshape(-1).view(np.uint8)
    if qtype in cupyquant.FORMATS:  # random blocks with NaN/Inf/subnormal scales mixed in
        return make_blocks(cupyquant.FORMATS[qtype], n // bs, rng)
    return rng.integers(0, 256, n // bs * ts, dtype=np.uint8)


def _add_raw_tensor(w: GGUFWriter, name: str, qtype, shape, raw: np.ndarray) -> None:
    bs, ts = GGML_QUANT_SIZES[qtype]
    byte_shape = (*shape[:-1], shape[-1] // bs * ts)
    w.add_tensor(name, raw.reshape(byte_shape), raw_dtype=qtype)


def _write(w: GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


METADATA = [  # key, value, type (sub type for arrays)
    ("m.u8", 200, V.UINT8, None),
    ("m.i8", -100, V.INT8, None),
    ("m.u16", 60000, V.UINT16, None),
    ("m.i16", -30000, V.INT16, None),
    ("m.u32", 4_000_000_000, V.UINT32, None),
    ("m.i32", -2_000_000_000, V.INT32, None),
    ("m.f32", 3.25, V.FLOAT32, None),
    ("m.f32inf", float("-inf"), V.FLOAT32, None),
    ("m.u64", 2**64 - 1, V.UINT64, None),
    ("m.i64", -2**63, V.INT64, None),
    ("m.f64", 1e300, V.FLOAT64, None),
    ("m.f64neg0", -0.0, V.FLOAT64, None),
    ("m.true", True, V.BOOL, None),
    ("m.false", False, V.BOOL, None),
    ("m.str", "héllo, wörld ▁ 日本", V.STRING, None),
    ("m.a.u8", [0, 1, 255], V.ARRAY, V.UINT8),
    ("m.a.i8", [-128, 0, 127], V.ARRAY, V.INT8),
    ("m.a.u16", [0, 65535], V.ARRAY, V.UINT16),
    ("m.a.i16", [-32768, 32767], V.ARRAY, V.INT16),
    ("m.a.u32", [0, 2**32 - 1], V.ARRAY, V.UINT32),
    ("m.a.i32", [-2**31, 2**31 - 1, 5], V.ARRAY, V.INT32),
    ("m.a.f32", [0.5, -1.25, float("inf")], V.ARRAY, V.FLOAT32),
    ("m.a.u64", [0, 2**64 - 1], V.ARRAY, V.UINT64),
    ("m.a.i64", [-2**63, 2**63 - 1], V.ARRAY, V.INT64),
    ("m.a.f64", [1e-300, -2.5], V.ARRAY, V.FLOAT64),
    ("m.a.bool", [True, False, True], V.ARRAY, V.BOOL),
    ("m.a.str", ["a", "", "ünïcödé", "x" * 300], V.ARRAY, V.STRING),
    ("m.a.nested", [[1, 2], [3], [4, 5, 6]], V.ARRAY, None),
    ("m.a.nested_str", [["a", "bb"], ["ccc"]], V.ARRAY, None),
    ("m.a.nested3", [[[1], [2, 3]], [[4]]], V.ARRAY, None),
]


_ARRAY_DTYPES = {V.UINT8: np.uint8, V.INT8: np.int8, V.UINT16: np.uint16, V.INT16: np.int16,
                 V.UINT32: np.uint32, V.INT32: np.int32, V.FLOAT32: np.float32,
                 V.UINT64: np.uint64, V.INT64: np.int64, V.FLOAT64: np.float64,
                 V.BOOL: np.bool_}


def _add_metadata(w: GGUFWriter) -> None:
    for key, value, vtype, sub in METADATA:
        w.add_key_value(key, value, vtype, sub_type=sub)


def _flatten(v):
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, list):
        out = []
        for x in v:
            out += _flatten(x) if isinstance(x, (list, np.ndarray)) else [x]
        return out
    return v


def _same(a, b) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b and (not isinstance(a, float)
                                             or math.copysign(1, a) == math.copysign(1, b))


def assert_metadata_matches_reader(meta, reader: GGUFReader) -> None:
    fields = {k: f for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert list(meta) == list(fields)
    for key, field in fields.items():
        ours = meta[key]
        ref = field.contents()
        if isinstance(ours, (list, np.ndarray)):
            assert isinstance(ref, list), key
            assert _same(_flatten(ours), ref), (key, ours, ref)
        else:
            assert _same(ours, ref), (key, ours, ref)
        if meta.array_length(key) != 0:  # gguf-py leaves out the item type of an empty array
            assert list(meta.value_type(key)) == list(field.types), key


# --------------------------------------------------------- every type, every value
ALL_TYPES = [t for t in T if t in GGML_QUANT_SIZES]
SHAPES = [(3, 512), (2, 2, 256), (256,)]


@pytest.fixture(scope="module")
def all_types_file(tmp_path_factory):
    """One tensor of every ggml type gguf knows (several shapes for a few),
    plus metadata of every value type."""
    path = tmp_path_factory.mktemp("all") / "all.gguf"
    rng = np.random.default_rng(1)
    w = GGUFWriter(path, "test")
    _add_metadata(w)
    expected = {}
    for qtype in ALL_TYPES:
        for k, shape in enumerate(SHAPES if qtype in (T.Q4_0, T.F32, T.Q6_K) else SHAPES[:1]):
            name = f"t.{qtype.name.lower()}.{k}"
            raw = _raw_for(qtype, shape, rng)
            if qtype in _NP_INT_TYPES:
                w.add_tensor(name, raw.view(_NP_INT_TYPES[qtype]).reshape(shape))
            else:
                _add_raw_tensor(w, name, qtype, shape, raw)
            expected[name] = (qtype, shape, raw)
    _write(w)
    return str(path), expected


def test_tensors_and_metadata_match_gguf_reader(all_types_file):
    path, expected = all_types_file
    reader = GGUFReader(path)
    with open_gguf(path) as f:
        assert isinstance(f, GGUFFile)
        assert f.path == path and f.version == 3 and f.alignment == 32
        assert f.data_offset == reader.data_offset
        assert list(f.tensors) == [t.name for t in reader.tensors] == list(expected)
        for rt in reader.tensors:
            info = f.tensors[rt.name]
            qtype, shape, raw = expected[rt.name]
            assert isinstance(info, TensorInfo)
            assert info.qtype == rt.tensor_type == qtype
            assert info.shape == tuple(reversed(rt.shape.tolist())) == shape
            assert info.n_elements == rt.n_elements == math.prod(shape)
            assert info.offset == rt.data_offset
            assert info.nbytes == rt.n_bytes == raw.size
            assert info.path == path
            data = f.tensor_bytes(rt.name)
            assert data.dtype == np.uint8 and not data.flags.writeable
            assert np.array_equal(data, raw)
            assert np.array_equal(data, rt.data.reshape(-1).view(np.uint8))
        assert_metadata_matches_reader(f.metadata, reader)


def test_metadata_values_and_types(all_types_file):
    path, _ = all_types_file
    with open_gguf(path) as f:
        meta = f.metadata
        for key, value, vtype, sub in METADATA:
            got = meta[key]
            if vtype == V.ARRAY and sub is None:  # nested: kept nested
                assert _same(_flatten(got), _flatten(value)), key
                assert isinstance(got, list) and meta.value_type(key)[:2] == (V.ARRAY, V.ARRAY)
            elif vtype == V.ARRAY and sub == V.STRING:
                assert got == value and isinstance(got, list)
            elif vtype == V.ARRAY:
                assert isinstance(got, np.ndarray) and not got.flags.writeable
                assert got.dtype == _ARRAY_DTYPES[sub], key
                assert got.tolist() == value, key
                assert meta.value_type(key) == (V.ARRAY, sub)
            else:
                assert _same(got, value), key
                assert meta.value_type(key) == (vtype,)
        assert meta["m.a.u64"].dtype == np.uint64 and meta["m.a.bool"].dtype == np.bool_
        assert meta["m.a.nested"][1].tolist() == [3]
        assert meta["m.a.nested3"][0][1].tolist() == [2, 3]
        assert meta.array_length("m.a.str") == 4 and meta.array_length("m.str") is None
        assert "m.u8" in meta and "nope" not in meta
        with pytest.raises(KeyError):
            meta["nope"]
        with pytest.raises(TypeError):
            meta["m.u8"] = 1  # read-only
        # a returned list can be changed without changing the metadata
        meta["m.a.str"].append("zzz")
        assert meta["m.a.str"] == ["a", "", "ünïcödé", "x" * 300]


def test_metadata_usable_after_close(all_types_file):
    path, expected = all_types_file
    f = open_gguf(path)
    f.metadata["m.a.i32"]  # one read before, the rest after close
    view = f.tensor_bytes("t.q4_0.0")
    f.close()
    f.close()  # twice is fine
    assert f.closed
    assert f.metadata["m.a.str"] == ["a", "", "ünïcödé", "x" * 300]
    assert f.metadata["m.a.nested"][2].tolist() == [4, 5, 6]
    assert f.metadata["m.a.i32"].tolist() == [-2**31, 2**31 - 1, 5]
    # a view taken before close stays valid: the tensor's bytes, as written
    raw = expected["t.q4_0.0"][2]
    assert raw.size > 0 and raw.any()
    assert view.dtype == np.uint8 and view.shape == (raw.size,) and np.array_equal(view, raw)
    with pytest.raises(GGUFError, match="closed"):
        f.tensor_bytes("t.q4_0.0")


def test_nested_metadata_reads_are_independent(tmp_path):
    """Changing what one read returned changes no later read, at any depth."""
    path = tmp_path / "nested.gguf"
    w = GGUFWriter(path, "test")
    w.add_array("strs", [["a", "b"], ["c"]])
    w.add_array("ints", [[1, 2], [3]])
    w.add_array("deep", [[["x"], ["y", "z"]]])
    _write(w)
    f = open_gguf(path)
    for closed in (False, True):   # decoded from the map, then from the bytes copied at close
        strs = f.metadata["strs"]
        strs[0].append("INJECTED")
        strs[1].clear()
        strs.append(["extra"])
        f.metadata["deep"][0][1].append("INJECTED")
        assert f.metadata["strs"] == [["a", "b"], ["c"]], closed
        assert f.metadata["deep"] == [[["x"], ["y", "z"]]], closed
        inner = f.metadata["ints"][0]
        assert inner.tolist() == [1, 2] and not inner.flags.writeable
        f.close()


def _loadable(qtype) -> bool:
    return qtype in cupyquant.FORMATS and _gguf_can_dequantize(qtype)


@pytest.fixture(scope="module")
def loadable_file(tmp_path_factory):
    """A tensor of every type cupyquant decodes (skipping those still missing)."""
    path = tmp_path_factory.mktemp("load") / "load.gguf"
    rng = np.random.default_rng(2)
    w = GGUFWriter(path, "test")
    w.add_string("general.name", "loadable")
    expected = {}
    for qtype in ALL_TYPES:
        if not _loadable(qtype):
            continue
        for k, shape in enumerate(SHAPES):
            name = f"{qtype.name}.{k}"
            raw = _raw_for(qtype, shape, rng)
            _add_raw_tensor(w, name, qtype, shape, raw)
            expected[name] = (qtype, shape, raw)
    _write(w)
    return str(path), expected


@pytest.mark.parametrize("dtype", [None, np.float32, "float16"])
def test_load_cpu_bit_exact(loadable_file, dtype):
    path, expected = loadable_file
    tensors = load_gguf(path, device="cpu", dtype=dtype)
    assert isinstance(tensors, GGUFTensors)
    assert tensors.path == path and tensors.paths == (path,)
    assert tensors.metadata["general.name"] == "loadable"
    assert list(tensors) == list(expected) == list(tensors.info)
    out_dtype = np.dtype(np.float32 if dtype is None else dtype)
    for name, (qtype, shape, raw) in expected.items():
        arr = tensors[name]
        assert isinstance(arr, np.ndarray) and arr.dtype == out_dtype, name
        assert arr.shape == shape == tensors.info[name].shape, name
        ref = reference(cupyquant.FORMATS[qtype], raw)
        if out_dtype == np.float16:
            with np.errstate(all="ignore"):
                ref = ref.astype(np.float16)
        assert_bit_exact(arr, ref, name)
    with pytest.raises(TypeError):
        tensors["x"] = 1


def test_load_cpu_quantized(loadable_file):
    path, expected = loadable_file
    from cupyquant.quantized import QuantizedTensor
    tensors = load_gguf(path, device="cpu", quantized=True)
    for name, (qtype, shape, raw) in expected.items():
        t = tensors[name]
        if GGML_QUANT_SIZES[qtype][0] > 1:
            assert isinstance(t, QuantizedTensor) and t.shape == shape and t.qtype == qtype
            assert np.array_equal(t.data, raw)
            assert_bit_exact(t.dequant(dtype=np.float32), reference(t.format, raw), name)
        else:
            assert isinstance(t, np.ndarray)
    picked = load_gguf(path, device="cpu", quantized=["Q4_0.0"])
    assert isinstance(picked["Q4_0.0"], QuantizedTensor)
    assert isinstance(picked["Q4_0.1"], np.ndarray)
    by_pred = load_gguf(path, device="cpu", quantized=lambda n: n.endswith(".2"))
    assert isinstance(by_pred["Q8_0.2"], QuantizedTensor)
    assert isinstance(by_pred["Q8_0.0"], np.ndarray)


def test_load_cpu_arguments(loadable_file, monkeypatch):
    path, _ = loadable_file
    with pytest.raises(ValueError, match="float32 or float16"):
        load_gguf(path, device="cpu", dtype=np.float64)
    with pytest.raises(ValueError, match="device_map"):
        load_gguf(path, device="cpu", device_map={"Q4_0.0": 0})
    assert len(load_gguf(path, device="CPU", device_map="auto")) > 0
    # device=None without a usable GPU: the CPU path
    import cupyquant.gpu.platform as platform
    monkeypatch.setattr(platform, "gpu_available", lambda: False)
    assert isinstance(next(iter(load_gguf(path).values())), np.ndarray)


def _write_q4_0_and_norm(path):
    w = GGUFWriter(path, "test")
    w.add_tensor("blk.0.ffn_up.weight", quants.quantize(np.ones((2, 64), np.float32), T.Q4_0),
                 raw_dtype=T.Q4_0)
    w.add_tensor("blk.0.norm.weight", np.ones(64, np.float32))
    _write(w)


def test_quantized_selector_checks(tmp_path):
    from cupyquant.quantized import QuantizedTensor
    path = tmp_path / "m.gguf"
    _write_q4_0_and_norm(path)
    # names that are not tensors of the model: a typo must not pass silently
    for bad in (["blk.0.ffn_up.weigth"], {"blk.0.ffn_up.weight", "nope", "also.nope"}, "nope"):
        with pytest.raises(ValueError, match=r"quantized= names \d tensor\(s\) not in .*m\.gguf"
                                             r".*'(nope|blk\.0\.ffn_up\.weigth)'") as e:
            load_gguf(path, device="cpu", quantized=bad)
        assert "'blk.0.ffn_up.weight'" not in str(e.value)
    # NumPy bools count as bools
    kept = load_gguf(path, device="cpu", quantized=np.True_)
    assert isinstance(kept["blk.0.ffn_up.weight"], QuantizedTensor)
    assert isinstance(kept["blk.0.norm.weight"], np.ndarray)
    assert all(isinstance(a, np.ndarray) for a in load_gguf(path, device="cpu",
                                                            quantized=np.False_).values())
    with pytest.raises(TypeError, match="quantized must be a bool"):
        load_gguf(path, device="cpu", quantized=3)


def test_scalar_tensor_stays_an_array_when_picked(tmp_path):
    """A tensor of shape () cannot be a QuantizedTensor: picked by name or by
    a predicate it is loaded as an array, as F32 tensors are with quantized=True."""
    blob = _gguf([], [_ti("scalar", [], int(T.F32), 0)], np.float32(2.5).tobytes())
    path = tmp_path / "scalar.gguf"
    path.write_bytes(blob)
    for quantized in (False, True, ["scalar"], lambda name: True):
        got = load_gguf(path, device="cpu", quantized=quantized)["scalar"]
        assert isinstance(got, np.ndarray) and got.shape == () and got.item() == 2.5, quantized


def test_load_cpu_quantized_tensors_are_read_only(tmp_path):
    path = tmp_path / "m.gguf"
    _write_q4_0_and_norm(path)
    q = load_gguf(path, device="cpu", quantized=True)["blk.0.ffn_up.weight"]
    assert q.read_only is True
    assert not q.data.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        q.data[0] = 1
    with open_gguf(path) as f:   # a copy: it does not hold the file's map
        assert not np.shares_memory(q.data, f.tensor_bytes("blk.0.ffn_up.weight"))
        assert np.array_equal(q.data, f.tensor_bytes("blk.0.ffn_up.weight"))


def test_out_of_memory_names_file_tensor_and_size(tmp_path, monkeypatch):
    path = tmp_path / "m.gguf"
    _write_q4_0_and_norm(path)
    numpy_error = MemoryError("Unable to allocate 4.00 TiB for an array")

    def no_memory(self, *args, **kwargs):
        raise numpy_error

    monkeypatch.setattr(type(cupyquant.FORMATS["Q4_0"]), "dequant", no_memory)
    with pytest.raises(MemoryError) as e:
        load_gguf(path, device="cpu", dtype="float16")
    assert not isinstance(e.value, GGUFError) and e.value.__cause__ is numpy_error
    text = str(e.value)
    assert text.startswith(f"{path}, tensor 'blk.0.ffn_up.weight': out of memory"), text
    assert "(2, 64)" in text and "Q4_0 dequantized to float16" in text, text
    assert f"needs {2 * 64 * 2:,} bytes" in text, text


def test_gpu_path_is_handed_the_opened_files(loadable_file, monkeypatch):
    path, expected = loadable_file
    import cupyquant.gpu.loader as gpu_loader
    import cupyquant.gpu.platform as platform
    seen = {}

    def fake(files, **kw):
        seen["files"] = files
        seen["kw"] = kw
        assert all(not f.closed for f in files)
        return "gpu-result"

    monkeypatch.setattr(gpu_loader, "load_to_gpu", fake)
    monkeypatch.setattr(platform, "gpu_available", lambda: True)
    assert load_gguf(path, dtype="float16", quantized=True, progress=False) == "gpu-result"
    assert [f.path for f in seen["files"]] == [path]
    assert seen["kw"] == dict(device=None, dtype="float16", quantized=True, progress=False,
                              device_map=None)
    assert all(f.closed for f in seen["files"])  # closed once the load returns
    assert load_gguf(path, device="cuda:0", device_map="auto") == "gpu-result"
    assert seen["kw"]["device"] == "cuda:0" and seen["kw"]["device_map"] == "auto"


def test_unloadable_types_are_listed_but_not_loaded(tmp_path):
    path = tmp_path / "ints.gguf"
    w = GGUFWriter(path, "test")
    w.add_tensor("ok", np.ones((2, 32), np.float32))
    w.add_tensor("ids", np.arange(8, dtype=np.int32))
    w.add_tensor("f64", np.arange(4, dtype=np.float64))
    _write(w)
    with open_gguf(path) as f:
        assert f.tensors["ids"].qtype == T.I32 and f.tensors["ids"].shape == (8,)
        assert f.tensors["f64"].qtype == T.F64
        assert f.tensor_bytes("ids").view(np.int32).tolist() == list(range(8))
    with pytest.raises(GGUFError, match=r"ids.*I32 tensors cannot be loaded"):
        load_gguf(path, device="cpu")


# ----------------------------------------------------------------- split models
def _write_split(tmp_path, rng, n_tensors=5, per_part=2):
    base = tmp_path / "model.gguf"
    w = GGUFWriter(base, "test", split_max_tensors=per_part)
    w.add_string("general.name", "split")
    w.add_array("tokenizer.ggml.tokens", ["a", "b", "c"])
    expected = {}
    for i in range(n_tensors):
        shape = (2, 64)
        qtype = T.Q8_0 if i % 2 else T.F32
        raw = _raw_for(qtype, shape, rng)
        _add_raw_tensor(w, f"t{i}", qtype, shape, raw)
        expected[f"t{i}"] = (qtype, shape, raw)
    _write(w)
    n_parts = -(-n_tensors // per_part)
    parts = [str(tmp_path / f"model-{i:05d}-of-{n_parts:05d}.gguf") for i in range(1, n_parts + 1)]
    assert all(os.path.exists(p) for p in parts)
    return parts, expected


def test_split_model(tmp_path):
    parts, expected = _write_split(tmp_path, np.random.default_rng(3))
    files = open_model(parts[0])
    try:
        assert [f.path for f in files] == parts
    finally:
        for f in files:
            f.close()
    tensors = load_gguf(parts[0], device="cpu")
    assert tensors.paths == tuple(parts) and tensors.path == parts[0]
    assert sorted(tensors) == sorted(expected)
    assert tensors.metadata["general.name"] == "split"
    assert tensors.metadata["split.count"] == len(parts)
    for name, (qtype, shape, raw) in expected.items():
        assert tensors[name].shape == shape
        assert_bit_exact(tensors[name], reference(cupyquant.FORMATS[qtype], raw), name)
        assert tensors.info[name].path in parts

    # not the first part
    with pytest.raises(GGUFError, match=r"part 2 of a 3-part split model.*00001-of-00003"):
        open_model(parts[1])
    # a part missing
    os.rename(parts[2], parts[2] + ".bak")
    with pytest.raises(GGUFError, match=r"part 3 of the 3-part split model is missing: .*"
                                        + re.escape(os.path.basename(parts[2]))):
        load_gguf(parts[0], device="cpu")
    os.rename(parts[2] + ".bak", parts[2])


def test_split_model_duplicate_tensor(tmp_path):
    rng = np.random.default_rng(4)
    for i in (1, 2):
        w = GGUFWriter(tmp_path / f"dup-{i:05d}-of-00002.gguf", "test")
        w.add_tensor("same", rng.standard_normal(4).astype(np.float32))
        _write(w)
    with pytest.raises(GGUFError, match=r"'same'.*two parts"):
        load_gguf(tmp_path / "dup-00001-of-00002.gguf", device="cpu")


def test_single_file_named_like_a_split(tmp_path):
    path = tmp_path / "one-00001-of-00001.gguf"
    w = GGUFWriter(path, "test")
    w.add_tensor("x", np.ones(32, np.float32))
    _write(w)
    assert load_gguf(path, device="cpu")["x"].tolist() == [1.0] * 32


def test_bytes_and_pathlike_paths(tmp_path):
    """load_gguf / open_model / split_paths take what open_gguf takes: str,
    bytes and os.PathLike paths."""
    path = tmp_path / "m.gguf"
    w = GGUFWriter(path, "test")
    w.add_tensor("x", np.arange(32, dtype=np.float32))
    _write(w)
    for p in (str(path), os.fsencode(path), path):
        tensors = load_gguf(p, device="cpu")
        assert tensors["x"].tolist() == list(range(32)) and tensors.path == str(path)
    assert split_paths(os.fsencode(path)) is None
    parts, expected = _write_split(tmp_path, np.random.default_rng(6))
    assert split_paths(os.fsencode(parts[0])) == parts
    tensors = load_gguf(os.fsencode(parts[0]), device="cpu")
    assert sorted(tensors) == sorted(expected) and tensors.paths == tuple(parts)
    with pytest.raises(GGUFError, match=r"part 2 of a 3-part split model.*00001-of-00003") as e:
        open_model(os.fsencode(parts[1]))
    assert e.value.path == parts[1]


def test_split_part_under_a_plain_name(tmp_path):
    """A part of a split model renamed without the -0000N-of-0000M pattern
    would load as a part of the model: its own metadata says what it is."""
    parts, _ = _write_split(tmp_path, np.random.default_rng(7))
    for i, part in enumerate(parts):
        plain = tmp_path / f"renamed{i}.gguf"
        shutil.copy(part, plain)
        with pytest.raises(GGUFError, match=rf"part {i + 1} of 3 of a split model .*split\.no = "
                                            rf"{i}, split\.count = 3.*first part, named like "
                                            rf"NAME-00001-of-00003\.gguf") as e:
            load_gguf(plain, device="cpu")
        assert e.value.path == str(plain)
    # the metadata of a model in one part, written as a split of one: fine
    one = tmp_path / "one.gguf"
    w = GGUFWriter(one, "test")
    w.add_uint16("split.no", 0)
    w.add_uint16("split.count", 1)
    w.add_tensor("x", np.ones(32, np.float32))
    _write(w)
    assert load_gguf(one, device="cpu")["x"].tolist() == [1.0] * 32


# ------------------------------------------------------------ malformed files
def _s(x) -> bytes:
    b = x.encode() if isinstance(x, str) else x
    return struct.pack("<Q", len(b)) + b


def _kv(key, vtype, payload: bytes) -> bytes:
    return _s(key) + struct.pack("<I", vtype) + payload


def _ti(name, dims, type_id, offset) -> bytes:
    return (_s(name) + struct.pack("<I", len(dims)) + struct.pack(f"<{len(dims)}Q", *dims)
            + struct.pack("<IQ", type_id, offset))


def _gguf(kvs=(), tis=(), data=b"", *, magic=b"GGUF", version=3, n_tensors=None, n_kv=None,
          align=32) -> bytes:
    head = magic + struct.pack("<IQQ", version, len(tis) if n_tensors is None else n_tensors,
                               len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tis)
    body += b"\0" * (-len(body) % align)
    return body + data


F32_4 = _ti("w", [4], int(T.F32), 0)
DATA_4 = np.arange(4, dtype=np.float32).tobytes()


def _open_bytes(tmp_path, blob: bytes, name="bad.gguf"):
    p = tmp_path / name
    p.write_bytes(blob)
    return open_gguf(p)


def test_handmade_file_is_valid(tmp_path):
    blob = _gguf([_kv("k", V.UINT32, struct.pack("<I", 5)),
                  _kv("e", V.ARRAY, struct.pack("<IQ", V.INT32, 0)),
                  _kv("es", V.ARRAY, struct.pack("<IQ", V.STRING, 0))], [F32_4], DATA_4)
    with _open_bytes(tmp_path, blob) as f:
        assert f.metadata["k"] == 5
        assert f.metadata["e"].size == 0 and f.metadata["es"] == []
        assert f.tensor_bytes("w").view(np.float32).tolist() == [0, 1, 2, 3]
    reader = GGUFReader(tmp_path / "bad.gguf")
    assert_metadata_matches_reader(open_gguf(tmp_path / "bad.gguf").metadata, reader)


BAD_FILES = {
    "wrong magic": (_gguf(magic=b"GGML"), r"not a GGUF file: the magic is b'GGML'"),
    "tiny": (b"GGU", r"not a GGUF file: only 3 bytes"),
    "short header": (b"GGUF\x03\0\0\0\0\0", r"truncated GGUF header"),
    "version 1": (_gguf(version=1), r"unsupported GGUF version 1"),
    "version 99": (_gguf(version=99), r"unsupported GGUF version 99"),
    "big-endian": (_gguf(version=3 << 24), r"big-endian"),
    "absurd kv count": (_gguf(n_kv=2**62), r"metadata count 4611686018427387904 is impossible"),
    "absurd tensor count": (_gguf(n_tensors=2**40), r"tensor count \d+ is impossible"),
    "absurd key length": (_gguf([struct.pack("<Q", 2**60) + b"k" * 20]), r"string length "
                          r"1152921504606846976 runs past the end"),
    "absurd string value": (_gguf([_kv("s", V.STRING, struct.pack("<Q", 2**63) + b"xx")]),
                            r"metadata 's'.*string length \d+ runs past the end"),
    "absurd string array count": (_gguf([_kv("a", V.ARRAY, struct.pack("<IQ", V.STRING, 2**50))]),
                                  r"'a'.*strings cannot fit"),
    "string array element past EOF": (
        _gguf([_kv("a", V.ARRAY, struct.pack("<IQ", V.STRING, 3) + _s("ok")
                   + struct.pack("<Q", 1000) + b"x" * 20)]),
        r"'a': string 1 of 3 has length 1000, past the end"),
    "string array length field cut": (
        _gguf([_kv("a", V.ARRAY, struct.pack("<IQ", V.STRING, 2) + _s("okokokok") + b"\x01\0")],
              align=1),
        r"'a': the length of string 1 of 2 runs past the end"),
    "absurd numeric array": (_gguf([_kv("a", V.ARRAY, struct.pack("<IQ", V.UINT64, 2**61))]),
                             r"'a': \d+ items of UINT64 .* run past the end"),
    "unknown value type": (_gguf([_kv("k", 13, b"\0" * 8)]), r"'k': unknown value type 13"),
    "unknown array item type": (_gguf([_kv("k", V.ARRAY, struct.pack("<IQ", 77, 1))]),
                                r"'k': unknown value type 77"),
    "nesting too deep": (_gguf([_kv("k", V.ARRAY, struct.pack("<IQ", V.ARRAY, 1)
                                    + struct.pack("<IQ", V.ARRAY, 1) * 40)]),
                         r"'k': arrays nested more than 16 deep"),
    "duplicate key": (_gguf([_kv("k", V.UINT8, b"\1"), _kv("k", V.UINT8, b"\2")]),
                      r"duplicate metadata key 'k'"),
    "key not utf-8": (_gguf([_kv(b"\xff\xfe", V.UINT8, b"\1")]), r"not valid UTF-8"),
    "scalar cut": (_gguf([_kv("k", V.UINT64, b"\1\2")], align=1),
                   r"metadata 'k' \(UINT64\) \(8 bytes\) runs past the end"),
    "alignment type": (_gguf([_kv("general.alignment", V.UINT64, struct.pack("<Q", 32))]),
                       r"general.alignment must be a UINT32"),
    "alignment zero": (_gguf([_kv("general.alignment", V.UINT32, struct.pack("<I", 0))]),
                       r"general.alignment = 0 is not a power of two"),
    "alignment 48": (_gguf([_kv("general.alignment", V.UINT32, struct.pack("<I", 48))]),
                     r"general.alignment = 48 is not a power of two"),
    "unknown type id": (_gguf([], [_ti("w", [4], 99, 0)], DATA_4),
                        r"tensor 'w'.*unknown ggml type id 99"),
    "data past EOF": (_gguf([], [_ti("w", [4], int(T.F32), 32)], DATA_4),
                      r"tensor 'w', offset \d+: F32 data \(16 bytes\) runs past the end"),
    "data cut short": (_gguf([], [F32_4], DATA_4[:-1]), r"tensor 'w'.*runs past the end"),
    "misaligned offset": (_gguf([], [_ti("w", [4], int(T.F32), 4)], DATA_4 * 2),
                          r"tensor 'w'.*offset 4 .*not a multiple of the alignment 32"),
    "not whole blocks": (_gguf([], [_ti("w", [33], int(T.Q4_0), 0)], b"\0" * 64),
                         r"tensor 'w'.*Q4_0: the row length 33 .* not a multiple of the block "
                         r"size 32"),
    "rows not whole blocks": (_gguf([], [_ti("w", [16, 2], int(T.Q4_0), 0)], b"\0" * 64),
                              r"row length 16"),
    "zero dim": (_gguf([], [_ti("w", [4, 0], int(T.F32), 0)], DATA_4),
                 r"tensor 'w'.*dimension 1 is zero"),
    "negative dim": (_gguf([], [_ti("w", [2**64 - 4], int(T.F32), 0)], DATA_4),
                     r"tensor 'w'.*dimension 0 is negative \(-4\)"),
    "dims overflow": (_gguf([], [_ti("w", [2**32, 2**32], int(T.F32), 0)], DATA_4),
                      r"tensor 'w'.*overflow"),
    "too many dims": (_gguf([], [_ti("w", [1] * 5, int(T.F32), 0)], DATA_4),
                      r"tensor 'w'.*5 dimensions"),
    "absurd n_dims": (_gguf([], [_s("w") + struct.pack("<I", 2**31) + b"\0" * 40]),
                      r"tensor 'w'.*2147483648 dimensions"),
    "duplicate tensor": (_gguf([], [F32_4, _ti("w", [4], int(T.F32), 32)], DATA_4 * 4),
                         r"tensor 'w'.*duplicate tensor name"),
    "tensor name not utf-8": (_gguf([], [_ti(b"\xc3", [4], int(T.F32), 0)], DATA_4),
                              r"name of tensor 0 is not valid UTF-8"),
    "tensor info cut": (_gguf([], [_s("w") + struct.pack("<I", 1) + b"\4\0\0\0\0\0\0\0"
                                   + b"\0" * 8], align=1),
                        r"tensor 'w'.*data offset \(8 bytes\) runs past the end"),
    "tensors at one offset": (_gguf([], [_ti("a", [16], int(T.F32), 0),
                                         _ti("b", [16], int(T.F32), 0)], DATA_4 * 4),
                              r"tensor 'b', offset (\d+): data \[\1, \d+\) overlaps the data of "
                              r"tensor 'a' \[\1, \d+\)"),
    "tensors overlapping": (_gguf([], [_ti("a", [16], int(T.F32), 0),
                                       _ti("b", [16], int(T.F32), 32)], DATA_4 * 6),
                            r"tensor 'b', offset \d+: data .* overlaps the data of tensor 'a'"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_malformed_files(tmp_path, case):
    blob, pattern = BAD_FILES[case]
    with pytest.raises(GGUFError) as exc:
        _open_bytes(tmp_path, blob)
    text = str(exc.value)
    assert text.startswith(str(tmp_path / "bad.gguf")), text
    assert re.search(pattern, text), text
    assert exc.value.path == str(tmp_path / "bad.gguf")


def test_tensor_layouts_other_than_packed_in_order(tmp_path):
    """Only overlaps are errors: data listed out of order, or with gaps, is valid."""
    data = np.arange(48, dtype=np.float32).tobytes()   # 192 bytes
    tis = [_ti("late", [8], int(T.F32), 128), _ti("early", [8], int(T.F32), 0),
           _ti("mid", [8], int(T.F32), 64)]   # gaps at 32-63 and 96-127
    with _open_bytes(tmp_path, _gguf([], tis, data)) as f:
        assert [f.tensor_bytes(n).view(np.float32)[0] for n in ("late", "early", "mid")] == [
            32, 0, 16]
    # out of listing order and overlapping: found whatever the order
    tis = [_ti("x", [16], int(T.F32), 64), _ti("y", [16], int(T.F32), 0),
           _ti("z", [8], int(T.F32), 32)]   # z lies inside y
    with pytest.raises(GGUFError, match=r"tensor 'z', offset \d+: data .* overlaps the data of "
                                        r"tensor 'y'"):
        _open_bytes(tmp_path, _gguf([], tis, data))


def test_aliased_tensors_are_not_loaded(tmp_path):
    """256 tensors over the same 2304 bytes: refused, not dequantized 256 times."""
    n_tensors, block_bytes = 256, 2304
    tis = [_ti(f"w{i}", [4096], int(T.Q4_0), 0) for i in range(n_tensors)]
    path = tmp_path / "alias.gguf"
    path.write_bytes(_gguf([], tis, b"\0" * block_bytes))
    with pytest.raises(GGUFError, match=r"alias\.gguf, tensor 'w1', offset \d+: .*overlaps the "
                                        r"data of tensor 'w0'"):
        load_gguf(path, device="cpu")


def test_not_a_regular_file(tmp_path):
    """A FIFO or a pipe is refused before it is opened: opening a FIFO with no
    writer would block, a pipe's size reads as 0. A directory is the OSError
    open() would give (open_gguf's OSError for a path that cannot be opened)."""
    with pytest.raises(IsADirectoryError, match="a directory, not a GGUF file") as e:
        open_gguf(tmp_path)
    assert e.value.filename == str(tmp_path)
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    # Hold both ends open (non-blocking), so that a reader that does open the
    # FIFO gets an empty stream instead of blocking the test.
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    try:
        with pytest.raises(GGUFError, match=r"model\.gguf: not a regular file \(a FIFO or pipe\)"):
            open_gguf(fifo)
        with pytest.raises(GGUFError, match=r"not a regular file"):
            load_gguf(fifo, device="cpu")
    finally:
        os.close(writer)
        os.close(reader)
    # an anonymous pipe, as `cupyquant inspect <(cat m.gguf)` is handed one
    pipe_reader, pipe_writer = os.pipe()
    try:
        pipe_path = f"/dev/fd/{pipe_reader}"
        if os.path.exists(pipe_path):
            with pytest.raises(GGUFError, match=r"not a regular file \(a FIFO or pipe\)"):
                open_gguf(pipe_path)
    finally:
        os.close(pipe_writer)
        os.close(pipe_reader)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.gguf").write_bytes(b"")
    with pytest.raises(GGUFError, match="empty"):
        open_gguf(tmp_path / "empty.gguf")
    with pytest.raises(FileNotFoundError):
        open_gguf(tmp_path / "nope.gguf")


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("small") / "small.gguf"
    w = GGUFWriter(path, "test")
    w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "hello", "wörld", ""])
    w.add_array("m.nested", [[1, 2], [3]])
    w.add_float32("m.f", 0.5)
    rng = np.random.default_rng(5)
    w.add_tensor("a", rng.standard_normal((2, 32)).astype(np.float32))
    w.add_tensor("b", quants.quantize(rng.standard_normal((1, 64)).astype(np.float32), T.Q8_0),
                 raw_dtype=T.Q8_0)
    w.add_tensor("c", rng.standard_normal(8).astype(np.float16))
    _write(w)
    blob = path.read_bytes()
    with open_gguf(path) as f:
        end = max(t.offset + t.nbytes for t in f.tensors.values())
        header_end = f.data_offset
    return blob, end, header_end


def test_truncated_at_every_byte(tmp_path, small_file):
    blob, end, _ = small_file
    p = tmp_path / "cut.gguf"
    for cut in range(len(blob) + 1):
        p.write_bytes(blob[:cut])
        if cut < end:
            with pytest.raises(GGUFError) as exc:
                open_gguf(p)
            assert str(exc.value).startswith(str(p)), (cut, str(exc.value))
            assert re.search(r"past the end|truncated|not a GGUF file|impossible|cannot fit|"
                             r"does not fit", str(exc.value)), (cut, str(exc.value))
        else:  # only padding missing after the last tensor: still a whole file
            with open_gguf(p) as f:
                assert len(f.tensors) == 3


def _exercise(f: GGUFFile) -> None:
    for key in f.metadata:
        f.metadata[key]
    for name, info in f.tensors.items():
        assert f.tensor_bytes(name).size == info.nbytes


@given(st.data())
def test_corrupted_files_never_crash(small_file, tmp_path_factory, data):
    """Random bytes overwritten in the header: the file opens (and every value
    reads) or GGUFError is raised; nothing else escapes."""
    blob, _, header_end = small_file
    buf = bytearray(blob)
    n = data.draw(st.integers(1, 6))
    for _ in range(n):
        pos = data.draw(st.integers(0, header_end - 1))
        width = data.draw(st.sampled_from([1, 2, 4, 8]))
        value = data.draw(st.integers(0, 2 ** (8 * width) - 1))
        chunk = value.to_bytes(width, "little")[: len(buf) - pos]
        buf[pos:pos + len(chunk)] = chunk
    if data.draw(st.booleans()):
        buf = buf[:data.draw(st.integers(0, len(buf)))]
    p = tmp_path_factory.mktemp("fuzz") / "fuzz.gguf"
    p.write_bytes(bytes(buf))
    try:
        f = open_gguf(p)
    except GGUFError as e:
        # every problem caught by an explicit check, not by the last-resort net
        assert "malformed GGUF file" not in str(e), str(e)
        return
    with f:
        _exercise(f)


# ------------------------------------------------ a tokenizer-sized file
# How fast it opens is measured by benchmarks/test_bench_open.py (against
# gguf-py's GGUFReader), not asserted here.
@pytest.fixture(scope="module")
def large_tokenizer_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("tokenizer") / "tokenizer.gguf"
    write_tokenizer_sized_gguf(path, *LARGE_TOKENIZER)
    return str(path)


def test_tokenizer_sized_file_matches_gguf_reader(large_tokenizer_file):
    n_tokens, n_blocks = LARGE_TOKENIZER
    with open_gguf(large_tokenizer_file) as f:
        assert len(f.tensors) == 10 * n_blocks
        assert f.metadata.array_length("tokenizer.ggml.tokens") == n_tokens
        assert_metadata_matches_reader(f.metadata, GGUFReader(large_tokenizer_file))
        tokens = f.metadata["tokenizer.ggml.tokens"]
        assert len(tokens) == n_tokens and tokens[7] == "▁wörd7" and tokens[8] == "<tok8>"
