"""The GPU loading pipeline (cupyquant.gpu.loader) against the CPU path.

The planning, host-reading and path-choosing pieces are tested everywhere; the
loads need a usable GPU (the ``cp`` fixture skips them otherwise). The tests
that run the pipeline take the ``path`` fixture: once on the zero-copy path
(kernels read the pinned host buffers) and once on the staging path (device
staging buffers), chosen through the module flag ``ZERO_COPY``.
"""

import gc
import types

import gguf
import numpy as np
import pytest

from cupyquant import FORMATS, GGUFError, load_gguf
from cupyquant.gguf_file import open_gguf
from cupyquant.gpu import host_reader, load_plan
from cupyquant.gpu import inplace as gi
from cupyquant.gpu import loader as gl
from cupyquant.loader import GGUFTensors
from cupyquant.quantized import QuantizedTensor
from cupyquant.testing import assert_bit_exact, bf16_bits, make_blocks

SMALL_SLOT = 64 << 10   # many chunks, and tensors cut across chunks, with small files
NAMES = list(FORMATS)


# ------------------------------------------------------------------ helpers
def write_model(path, specs, seed=0, arch="cupyquant-test"):
    """specs: (name, format name, NumPy shape). Random blocks (special values
    included) written raw with gguf.GGUFWriter. Returns name -> raw bytes."""
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), arch=arch)
    writer.add_name("gpu loader test")
    writer.add_uint32("test.count", len(specs))
    writer.add_float32("test.scale", 0.125)
    writer.add_array("test.list", [1, 2, 3])
    writer.add_array("test.words", ["a", "bc", "déf"])
    raws = {}
    for name, fmt_name, shape in specs:
        fmt = FORMATS[fmt_name]
        n = int(np.prod(shape))
        raw = make_blocks(fmt, n // fmt.block_size, rng)
        raws[name] = raw
        writer.add_tensor(name, raw.reshape(*shape[:-1], -1), raw_dtype=fmt.qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()
    return raws


def every_format_specs():
    specs = []
    for i, name in enumerate(NAMES):
        specs.append((f"blk.{i}.{name.lower()}.small", name, (3, 512)))
        specs.append((f"blk.{i}.{name.lower()}.cube", name, (2, 24, 1024)))
        specs.append((f"blk.{i}.{name.lower()}.large", name, (40, 4096)))  # > SMALL_SLOT mostly
    specs.append(("output_norm.weight", "F32", (4096,)))
    return specs


def assert_same_metadata(a, b):
    assert list(a) == list(b)
    for key in a:
        va, vb = a[key], b[key]
        if isinstance(va, np.ndarray) or isinstance(vb, np.ndarray):
            assert np.array_equal(np.asarray(va), np.asarray(vb)), key
        else:
            assert va == vb, key


def expected_dtype(info, dtype) -> str:
    """The dtype load_gguf gives a tensor on the GPU: ``dtype`` if given,
    else float32 for F32 tensors and float16 for the others."""
    return dtype or ("float32" if info.qtype.name == "F32" else "float16")


def assert_same_as_cpu(cp, gpu, cpu_by_dtype, dtype):
    """gpu: GPU result; cpu_by_dtype: "float32"/"float16" -> CPU result."""
    assert isinstance(gpu, GGUFTensors)
    ref_any = cpu_by_dtype["float32"]
    assert list(gpu) == list(ref_any)
    assert dict(gpu.info) == dict(ref_any.info)
    assert_same_metadata(gpu.metadata, ref_any.metadata)
    for name in gpu:
        info = gpu.info[name]
        want = expected_dtype(info, dtype)
        got = gpu[name]
        assert isinstance(got, cp.ndarray), name
        assert got.shape == info.shape and got.dtype == np.dtype(want), (name, got.shape, got.dtype)
        assert_bit_exact(cp.asnumpy(got), cpu_by_dtype[want][name], f"{name} -> {want}")


def used_bytes(cp):
    gc.collect()
    cp.cuda.Device().synchronize()
    return cp.get_default_memory_pool().used_bytes()


@pytest.fixture(params=["in-place", "zero-copy", "staging"])
def load_path(request, monkeypatch):
    """The loader path a test runs (the IN_PLACE and ZERO_COPY flags, for
    this test only)."""
    monkeypatch.setattr(gl, "IN_PLACE", request.param == "in-place")
    monkeypatch.setattr(gl, "ZERO_COPY", request.param == "zero-copy")
    return request.param


def expected_path(cp, path, dev=0):
    """The path a load on ``dev`` takes: zero-copy falls back to staging on a
    device that cannot read pinned host memory."""
    if path == "in-place":
        return path
    return "zero-copy" if path == "zero-copy" and gl.device_reads_host(cp, dev) else "staging"


def assert_path(cp, path):
    stats = gl.last_load_stats
    assert stats["path"] == expected_path(cp, path), stats
    assert stats["complete"], stats
    if stats["path"] in ("zero-copy", "in-place"):
        assert stats["device_staging_bytes"] == 0, stats
    if stats["path"] != "in-place":
        assert stats["device_sync_bytes"] == 0, stats


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A file with three tensors of every format and its CPU loads."""
    path = tmp_path_factory.mktemp("gpu_loader") / "every_format.gguf"
    raws = write_model(path, every_format_specs(), seed=1)
    cpu = {dt: load_gguf(path, device="cpu", dtype=dt) for dt in ("float32", "float16")}
    return types.SimpleNamespace(path=path, raws=raws, cpu=cpu)


# ------------------------------------------------- planning (no GPU needed)
def _fake_jobs(specs, alignment=32, start=4000, device_of=lambda i: 0):
    jobs, pos = [], start
    for i, (fmt_name, n_blocks) in enumerate(specs):
        fmt = FORMATS[fmt_name]
        pos = -(-pos // alignment) * alignment
        info = types.SimpleNamespace(offset=pos, nbytes=n_blocks * fmt.type_size,
                                     n_elements=n_blocks * fmt.block_size)
        job = load_plan.Job(f"t{i}", info, fmt, 0)
        job.device = device_of(i)
        jobs.append(job)
        pos += info.nbytes
    return jobs


@pytest.mark.parametrize("slot", [SMALL_SLOT, 100_000, 1 << 20, 32 << 20])
def test_plan_chunks_cover_every_byte_once(slot):
    rng = np.random.default_rng(slot)
    specs = [(NAMES[int(rng.integers(len(NAMES)))], int(rng.integers(1, 20000)))
             for _ in range(60)]
    jobs = _fake_jobs(specs, device_of=lambda i: (i // 25) % 2)
    chunks = load_plan.plan_chunks(jobs, slot)
    covered = {job.name: [] for job in jobs}
    for c in chunks:
        assert c.start % load_plan.ALIGN == 0
        assert 0 < c.end - c.start <= slot
        assert c.payload == sum(n for _, _, n, _ in c.pieces)
        for job, tpos, n, cpos in c.pieces:
            assert job.device == c.device and job.file_index == c.file_index
            assert cpos == job.info.offset + tpos - c.start      # the file range, as is
            assert 0 <= cpos and cpos + n <= c.end - c.start
            assert tpos % job.fmt.type_size == 0 and n % job.fmt.type_size == 0 and n > 0
            assert (job.info.offset + tpos) % 32 == cpos % 32     # alignment kept
            covered[job.name].append((tpos, n))
    for job in jobs:
        pos = 0
        for tpos, n in sorted(covered[job.name]):
            assert tpos == pos
            if tpos + n < job.info.nbytes:   # a cut inside a tensor: whole units
                assert (tpos + n) % load_plan.unit_bytes(job.fmt) == 0
            pos += n
        assert pos == job.info.nbytes, job.name


def test_plan_chunks_packs_small_tensors_and_cuts_large_ones():
    jobs = _fake_jobs([("F32", 100)] * 50 + [("Q4_0", 200_000)])   # 50 x 400 B, then 3.6 MB
    chunks = load_plan.plan_chunks(jobs, 1 << 20)
    assert len(chunks[0].pieces) > 50                  # all the small ones in the first chunk
    assert len(chunks) == -(-(50 * 416 + 3_600_000) // (1 << 20))
    with pytest.raises(ValueError, match="too small"):
        load_plan.plan_chunks(jobs, 4096)


def test_auto_device_map_balances_contiguous_runs():
    sizes = [100] * 10 + [1000] + [100] * 10
    devs = load_plan.auto_device_map(sizes, 2)
    assert devs == sorted(devs) and set(devs) == {0, 1}
    per = [sum(s for s, d in zip(sizes, devs) if d == k) for k in (0, 1)]
    assert abs(per[0] - per[1]) <= 1000
    assert load_plan.auto_device_map(sizes, 1) == [0] * len(sizes)
    assert load_plan.auto_device_map([0, 0], 4) == [0, 0]
    devs = load_plan.auto_device_map([1] * 100, 4)
    assert [devs.count(k) for k in range(4)] == [25] * 4


@pytest.mark.parametrize("method", ["pread", "mmap"])
def test_reader_copies_file_ranges(tmp_path, method):
    data = np.random.default_rng(0).integers(0, 256, 3_000_000, dtype=np.uint8)
    path = tmp_path / "bytes.bin"
    data.tofile(path)
    reader = host_reader.HostReader([str(path)], method, threads=3, part_bytes=gl.PART_BYTES)
    try:
        chunk = load_plan.Chunk(0, 0, 12345)
        chunk.end = 12345 + 2_500_000
        dst = np.zeros(3 << 20, np.uint8)
        futs = reader.submit(chunk, dst)
        assert len(futs) == 3
        for f in futs:
            f.result()
        assert np.array_equal(dst[:2_500_000], data[12345:12345 + 2_500_000])
        assert not dst[2_500_000:].any()
        with pytest.raises(GGUFError, match="end of file"):
            reader.read_into(0, data.size - 10, np.zeros(100, np.uint8))
    finally:
        reader.close()


def test_reader_pieces_are_bounded(tmp_path):
    path = tmp_path / "bytes.bin"
    np.arange(40 << 20, dtype=np.uint64).astype(np.uint8).tofile(path)
    reader = host_reader.HostReader([str(path)], "mmap", threads=2, part_bytes=gl.PART_BYTES)
    try:
        chunk = load_plan.Chunk(0, 0, 4096)
        chunk.end = 4096 + (32 << 20)
        dst = np.zeros(32 << 20, np.uint8)
        futs = reader.submit(chunk, dst)   # 2 threads, but pieces of at most PART_BYTES
        assert len(futs) == (32 << 20) // gl.PART_BYTES
        for f in futs:
            f.result()
        reader.part_bytes = 4 << 20
        futs = reader.submit(chunk, dst)
        assert len(futs) == 8
        for f in futs:
            f.result()
        assert np.array_equal(dst, np.fromfile(path, np.uint8, count=32 << 20, offset=4096))
    finally:
        reader.close()


def _fake_cp(attrs, props):
    def device(dev):
        if attrs is None:
            raise RuntimeError("no attributes")
        return types.SimpleNamespace(attributes=dict(attrs))

    def get_props(dev):
        if props is None:
            raise RuntimeError("no properties")
        return dict(props)
    runtime = types.SimpleNamespace(getDeviceProperties=get_props)
    return types.SimpleNamespace(cuda=types.SimpleNamespace(Device=device, runtime=runtime))


@pytest.mark.parametrize("attrs,props,want", [
    ({"UnifiedAddressing": 1, "CanMapHostMemory": 1, "CanUseHostPointerForRegisteredMem": 1},
     None, True),
    ({"UnifiedAddressing": 1}, {}, True),
    ({"UnifiedAddressing": 0, "CanMapHostMemory": 1}, None, False),
    ({"UnifiedAddressing": 1, "CanMapHostMemory": 0}, None, False),
    ({"UnifiedAddressing": 1, "CanUseHostPointerForRegisteredMem": 0}, None, False),
    ({}, {"unifiedAddressing": 1, "canMapHostMemory": 1}, True),     # from the properties
    ({}, {"unifiedAddressing": 1, "canMapHostMemory": 0}, False),
    (None, {"unifiedAddressing": 1}, True),
    ({}, {}, False),                                                  # unknown: no
    (None, None, False),
])
def test_device_reads_host(attrs, props, want):
    assert gl.device_reads_host(_fake_cp(attrs, props), 0) is want


@pytest.mark.parametrize("value,want", [("0", False), ("off", False), ("False", False),
                                        ("1", True), ("yes", True), ("", True), ("what", True)])
def test_zero_copy_environment_flag(monkeypatch, value, want):
    monkeypatch.setenv("CUPYQUANT_LOAD_ZERO_COPY", value)
    assert gl._env_flag("CUPYQUANT_LOAD_ZERO_COPY", True) is want
    monkeypatch.delenv("CUPYQUANT_LOAD_ZERO_COPY")
    assert gl._env_flag("CUPYQUANT_LOAD_ZERO_COPY", False) is False


# ------------------------------------------------------------------ the GPU
@pytest.mark.parametrize("dtype", [None, "float32", "float16"])
def test_every_format_matches_cpu(cp, model, load_path, dtype):
    assert_same_as_cpu(cp, load_gguf(model.path, device=0, dtype=dtype), model.cpu, dtype)
    assert_path(cp, load_path)


@pytest.mark.parametrize("method", ["pread", "mmap"])
@pytest.mark.parametrize("slot", [SMALL_SLOT, 200_000])
def test_small_slots_and_read_methods(cp, model, load_path, monkeypatch, method, slot):
    monkeypatch.setattr(gl, "READ_METHOD", method)
    monkeypatch.setattr(gl, "SLOT_BYTES", slot)
    files = [open_gguf(model.path)]
    order = sorted(files[0].tensors.values(), key=lambda i: i.offset)
    assert max(i.nbytes for i in order) > slot          # some tensors span several chunks
    try:
        got = gl.load_to_gpu(files, device=0, dtype="float16")
    finally:
        files[0].close()
    assert_same_as_cpu(cp, got, model.cpu, "float16")
    assert_path(cp, load_path)
    assert gl.last_load_stats["read_method"] == method and gl.last_load_stats["chunks"] > 1


@pytest.mark.parametrize("slots,lookahead,threads,device_slots", [(1, 2, 1, 1), (2, 5, 2, 2), (3, 1, 4, 1),
                                                                   (4, 2, 3, 3), (2, 1, 2, 5)])
def test_pipeline_depths(cp, model, load_path, monkeypatch, slots, lookahead, threads, device_slots):
    """Every depth of the pipeline, and on the staging path device staging
    areas fewer than the slots (the chunks' copies into one wait for the
    kernels of the chunk before, queued on another slot's stream), as many,
    or more asked for than there are slots (capped at the slots)."""
    monkeypatch.setattr(gl, "SLOT_BYTES", SMALL_SLOT)
    monkeypatch.setattr(gl, "N_SLOTS", slots)
    monkeypatch.setattr(gl, "LOOKAHEAD", lookahead)
    monkeypatch.setattr(gl, "HOST_THREADS", threads)
    monkeypatch.setattr(gl, "DEVICE_SLOTS", device_slots)
    assert_same_as_cpu(cp, load_gguf(model.path, device=0, dtype="float32"), model.cpu,
                       "float32")
    assert_path(cp, load_path)
    stats = gl.last_load_stats
    assert stats["slots"] == slots and stats["threads"] == threads and stats["chunks"] > slots
    if stats["path"] == "staging":
        assert stats["device_slots"] == {0: min(device_slots, slots)}, stats
        assert stats["device_staging_bytes"] == min(device_slots, slots) * stats["slot_bytes"], stats
    else:
        assert stats["device_slots"] == {} and stats["device_staging_bytes"] == 0, stats


def test_bfloat16_output(cp, model, load_path):
    got = load_gguf(model.path, device=0, dtype="bfloat16")
    for name in got:
        arr = got[name]
        assert arr.dtype == cp.dtype("bfloat16") and arr.shape == got.info[name].shape
        ref = model.cpu["float32"][name].reshape(-1)
        ref16 = bf16_bits(ref)
        bits = cp.asnumpy(arr.reshape(-1).view(cp.uint16))
        nan = np.isnan(ref)
        assert np.array_equal((bits & 0x7FFF) > 0x7F80, nan), name
        assert np.array_equal(bits[~nan], ref16[~nan]), name
    assert_path(cp, load_path)


def test_tensor_larger_than_one_slot(cp, tmp_path, load_path, monkeypatch):
    monkeypatch.setattr(gl, "SLOT_BYTES", 32 << 20)
    specs = [("norm", "F32", (4096,)), ("big.q8_0", "Q8_0", (9216, 4096)),   # 40.1 MB
             ("big.f16", "F16", (4608, 4096)), ("tail.q4_k", "Q4_K", (16, 4096))]
    path = tmp_path / "big.gguf"
    raws = write_model(path, specs, seed=3)
    assert raws["big.q8_0"].size > gl.SLOT_BYTES and raws["big.f16"].size > gl.SLOT_BYTES
    got = load_gguf(path, device=0)
    assert_path(cp, load_path)
    cpu16 = load_gguf(path, device="cpu", dtype="float16")
    for name, fmt_name, shape in specs:
        ref = FORMATS["F32"].decode(raws[name]) if fmt_name == "F32" else cpu16[name]
        assert got[name].shape == shape
        assert_bit_exact(cp.asnumpy(got[name]), ref, name)


@pytest.mark.parametrize("selector", ["all", "names", "predicate"])
def test_quantized(cp, model, load_path, selector):
    names = [n for n in model.raws if ".q4_k." in n or n.endswith("f16.small")]
    quantized = {"all": True, "names": names, "predicate": lambda n: n in names}[selector]
    got = load_gguf(model.path, device=0, quantized=quantized, dtype="float32")
    assert_path(cp, load_path)
    for name in got:
        fmt = FORMATS[got.info[name].qtype]
        kept = fmt.block_size > 1 if selector == "all" else name in names
        arr = got[name]
        if not kept:
            assert isinstance(arr, cp.ndarray), name
            assert_bit_exact(cp.asnumpy(arr), model.cpu["float32"][name], name)
            continue
        assert isinstance(arr, QuantizedTensor), name
        assert arr.read_only, name   # its upload finished before load_gguf returned
        assert arr.format is fmt and arr.shape == got.info[name].shape
        assert isinstance(arr.data, cp.ndarray) and arr.data.device.id == 0
        assert np.array_equal(cp.asnumpy(arr.data), model.raws[name]), name
        assert_bit_exact(cp.asnumpy(arr.dequant(dtype="float32")), model.cpu["float32"][name], name)


def test_split_model(cp, tmp_path, load_path):
    specs = [("a", "Q4_0", (8, 256)), ("b", "Q6_K", (4, 512)), ("c", "F32", (64,)),
             ("d", "IQ4_XS", (2, 256))]
    write_model(tmp_path / "m-00001-of-00002.gguf", specs[:2], seed=5)
    write_model(tmp_path / "m-00002-of-00002.gguf", specs[2:], seed=6)
    first = tmp_path / "m-00001-of-00002.gguf"
    got = load_gguf(first, device=0, dtype="float32")
    ref = load_gguf(first, device="cpu", dtype="float32")
    assert list(got) == list(ref) == ["a", "b", "c", "d"]
    assert_path(cp, load_path)
    for name in ref:
        assert_bit_exact(cp.asnumpy(got[name]), ref[name], name)


def test_current_device_and_progress(cp, model, capsys):
    with cp.cuda.Device(0):
        got = load_gguf(model.path, progress=True)
    assert all(a.device.id == 0 for a in got.values())
    assert "loading" in capsys.readouterr().err


def test_device_map(cp, model, load_path):
    n = cp.cuda.runtime.getDeviceCount()
    got = load_gguf(model.path, device_map="auto", dtype="float32")
    order = sorted(got, key=lambda name: got.info[name].offset)
    devs = [got[name].device.id for name in order]
    assert devs == sorted(devs) and set(devs) == set(range(min(n, len(devs))))
    for name in got:
        with got[name].device:
            assert_bit_exact(cp.asnumpy(got[name]), model.cpu["float32"][name], name)
    last = order[-1]
    got = load_gguf(model.path, device=0, device_map={last: n - 1}, dtype="float32")
    assert got[last].device.id == n - 1 and got[order[0]].device.id == 0
    with pytest.raises(ValueError, match="not in the model"):
        load_gguf(model.path, device=0, device_map={"no.such.tensor": 0})


def test_argument_errors(cp, model):
    n = cp.cuda.runtime.getDeviceCount()
    with pytest.raises(ValueError, match="does not exist"):
        load_gguf(model.path, device=n)
    with pytest.raises(ValueError, match="dtype"):
        load_gguf(model.path, device=0, dtype="int32")
    with pytest.raises(ValueError, match="device_map"):
        load_gguf(model.path, device=0, device_map="balanced")


# ------------------------------------------------------------------ failures
def _bad_files(tmp_path, model):
    good = model.path.read_bytes()
    out = {}
    out["truncated"] = tmp_path / "truncated.gguf"
    out["truncated"].write_bytes(good[:-100])
    out["not_gguf"] = tmp_path / "not_gguf.gguf"
    out["not_gguf"].write_bytes(b"GGML" + good[4:4096])
    out["empty"] = tmp_path / "empty.gguf"
    out["empty"].write_bytes(b"")
    unsupported = [q for q in gguf.GGML_QUANT_SIZES if q not in FORMATS]
    if unsupported:
        q = unsupported[0]
        bs, ts = gguf.GGML_QUANT_SIZES[q]
        path = tmp_path / "unsupported.gguf"
        w = gguf.GGUFWriter(str(path), arch="x")
        w.add_tensor("w", np.zeros((2, 256 // bs * ts), np.uint8), raw_dtype=q)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file(progress=False)
        w.close()
        out["unsupported"] = path
    return out


def test_bad_files_same_error_as_cpu(cp, model, tmp_path, load_path):
    load_gguf(model.path, device=0)   # kernels and their tables exist now
    before = used_bytes(cp)
    for what, path in _bad_files(tmp_path, model).items():
        with pytest.raises(GGUFError) as cpu_err:
            load_gguf(path, device="cpu")
        with pytest.raises(GGUFError) as gpu_err:
            load_gguf(path, device=0)
        assert str(gpu_err.value) == str(cpu_err.value), what
        assert used_bytes(cp) == before, what


class _Boom(Exception):
    pass


@pytest.mark.parametrize("exc", [_Boom, KeyboardInterrupt, GGUFError])
def test_failure_midway_releases_device_memory(cp, model, load_path, monkeypatch, exc):
    monkeypatch.setattr(gl, "SLOT_BYTES", SMALL_SLOT)
    load_gguf(model.path, device=0)
    before = used_bytes(cp)
    real = gl.dequant_launcher
    calls = []

    def failing_launcher(fmt, dtype):
        launch = real(fmt, dtype)

        def failing(src_ptr, dst_ptr, n_blocks, stream=None, **kw):
            calls.append(fmt.name)
            if len(calls) == 7:
                raise exc("injected failure")
            return launch(src_ptr, dst_ptr, n_blocks, stream=stream, **kw)
        return failing

    monkeypatch.setattr(gl, "dequant_launcher", failing_launcher)
    monkeypatch.setattr(gi, "dequant_launcher", failing_launcher)   # the in-place path's launches
    with pytest.raises(exc, match="injected failure") as err:
        load_gguf(model.path, device=0)
    assert len(calls) == 7
    assert gl.last_load_stats["path"] == expected_path(cp, load_path)
    assert not gl.last_load_stats["complete"]
    # Released although the exception (and its traceback) is still alive.
    assert cp.get_default_memory_pool().used_bytes() == before
    del err
    assert used_bytes(cp) == before


def test_out_of_memory_midway_releases_and_names_the_tensor(cp, model, load_path, monkeypatch):
    load_gguf(model.path, device=0)
    before = used_bytes(cp)
    real = gl._allocate
    calls = []

    def failing(cp_, shape, dtype):
        calls.append(shape)
        if len(calls) == 20:
            raise cp.cuda.memory.OutOfMemoryError(1 << 40, 0)
        return real(cp_, shape, dtype)

    monkeypatch.setattr(gl, "_allocate", failing)
    with pytest.raises(MemoryError, match="out of memory while loading tensor 'blk") as err:
        load_gguf(model.path, device=0)
    assert cp.get_default_memory_pool().used_bytes() == before
    del err
    assert used_bytes(cp) == before


def test_real_out_of_memory_with_a_pool_limit(cp, model, load_path):
    got = load_gguf(model.path, device=0)
    need = sum(a.nbytes for a in got.values())
    del got
    pool = cp.get_default_memory_pool()
    before = used_bytes(cp)
    pool.free_all_blocks()
    old_limit = pool.get_limit()
    pool.set_limit(size=before + need // 2)
    try:
        with pytest.raises(MemoryError, match="out of memory while loading"):
            load_gguf(model.path, device=0)
        assert pool.used_bytes() == before
    finally:
        pool.set_limit(size=old_limit)
    assert used_bytes(cp) == before


def test_read_error_midway_releases(cp, model, load_path, monkeypatch):
    monkeypatch.setattr(gl, "SLOT_BYTES", SMALL_SLOT)
    load_gguf(model.path, device=0)
    before = used_bytes(cp)
    real = host_reader.HostReader.read_into
    calls = []

    def failing(self, file_index, offset, dst):
        calls.append(offset)
        if len(calls) == 5:
            raise GGUFError("read failed: injected", path=self.paths[file_index], offset=offset)
        return real(self, file_index, offset, dst)

    monkeypatch.setattr(host_reader.HostReader, "read_into", failing)
    with pytest.raises(GGUFError, match="injected"):
        load_gguf(model.path, device=0)
    assert used_bytes(cp) == before


def test_pinned_buffers_do_not_grow(cp, model, load_path):
    """Repeated loads reuse CuPy's pinned pool blocks instead of taking more."""
    pinned = cp.get_default_pinned_memory_pool()
    load_gguf(model.path, device=0)
    n_before = pinned.n_free_blocks()
    for _ in range(3):
        load_gguf(model.path, device=0)
    assert pinned.n_free_blocks() == n_before


def _device_growth(cp, load):
    """(bytes CuPy's device pool grew by during ``load()`` beyond its outputs,
    exact) starting from an emptied pool: the pool only grows during a load,
    so this is the load's high-water mark beyond the outputs. ``exact`` is
    False when free_all_blocks() left free pieces of partly used allocations
    (which can serve the load without growth: the figure is then a lower bound)."""
    pool = cp.get_default_memory_pool()
    used_bytes(cp)
    pool.free_all_blocks()
    exact = pool.free_bytes() == 0
    before = pool.total_bytes()
    got = load()
    cp.cuda.Device().synchronize()
    grown = pool.total_bytes() - before
    outputs = sum(-(-int(a.nbytes) // 512) * 512 for a in got.values())
    if exact:
        assert grown >= outputs
    return grown - outputs, exact


@pytest.mark.parametrize("slot", [None, SMALL_SLOT])
@pytest.mark.parametrize("dtype", [None, "float16"])
def test_in_place_takes_no_device_staging(cp, model, monkeypatch, slot, dtype):
    """In place the pool grows by the outputs, their layouts' rounding and
    the sync areas only; with float16 output the F32 tensors' pieces take
    device copies of their own, freed as the load goes."""
    if slot is not None:
        monkeypatch.setattr(gl, "SLOT_BYTES", slot)
    monkeypatch.setattr(gl, "IN_PLACE", True)
    load_gguf(model.path, device=0, dtype=dtype)   # kernels and their tables exist now
    extra, exact = _device_growth(cp, lambda: load_gguf(model.path, device=0, dtype=dtype))
    stats = gl.last_load_stats
    assert stats["path"] == "in-place" and stats["device_staging_bytes"] == 0, stats
    assert 0 < stats["device_sync_bytes"] < 1 << 20, stats
    assert extra < 1 << 20, extra
    if exact:
        assert extra >= stats["device_sync_bytes"], (extra, stats)


@pytest.mark.parametrize("slot", [None, SMALL_SLOT])
def test_zero_copy_takes_no_device_staging(cp, model, monkeypatch, slot):
    if not gl.device_reads_host(cp, 0):
        pytest.skip("this GPU cannot read pinned host memory (staging path only)")
    if slot is not None:
        monkeypatch.setattr(gl, "SLOT_BYTES", slot)
    monkeypatch.setattr(gl, "IN_PLACE", False)
    monkeypatch.setattr(gl, "ZERO_COPY", True)
    load_gguf(model.path, device=0)   # kernels and their tables exist now
    extra, _ = _device_growth(cp, lambda: load_gguf(model.path, device=0))
    stats = gl.last_load_stats
    assert stats["path"] == "zero-copy" and stats["device_staging_bytes"] == 0, stats
    assert extra < 1 << 20, extra
    # The same measurement sees the staging area on the staging path: one
    # slot (one staging chunk) by default.
    monkeypatch.setattr(gl, "ZERO_COPY", False)
    extra, exact = _device_growth(cp, lambda: load_gguf(model.path, device=0))
    stats = gl.last_load_stats
    assert stats["path"] == "staging", stats
    assert stats["device_staging_bytes"] == stats["slot_bytes"] > 0 and stats["device_slots"] == {0: 1}, stats
    if exact:
        assert stats["device_staging_bytes"] <= extra < stats["device_staging_bytes"] + (1 << 20), (extra, stats)


def test_falls_back_to_staging_when_the_device_cannot_read_host_memory(cp, model, monkeypatch):
    monkeypatch.setattr(gl, "IN_PLACE", False)
    monkeypatch.setattr(gl, "ZERO_COPY", True)
    monkeypatch.setattr(gl, "device_reads_host", lambda cp_, dev: False)
    assert_same_as_cpu(cp, load_gguf(model.path, device=0, dtype="float32"), model.cpu,
                       "float32")
    stats = gl.last_load_stats
    assert stats["path"] == "staging" and stats["devices"] == {0: "staging"}, stats
    assert stats["device_staging_bytes"] > 0


def test_module_imports_without_cupy(tmp_path):
    """The module itself imports no CuPy (CPU-only installs import
    cupyquant.gpu.loader fine): checked against a stub cupy that records its
    imports (cupyquant.testing.run_with_cupy_stub)."""
    from cupyquant.testing import run_with_cupy_stub
    assert gl.SLOT_BYTES > 0 and gl.N_SLOTS >= 1 and gl.LOOKAHEAD < 1 << 10
    assert gl.READ_METHOD in ("pread", "mmap")
    assert isinstance(gl.ZERO_COPY, bool) and isinstance(gl.IN_PLACE, bool) and 1 <= gl.HOST_THREADS <= 12
    run_with_cupy_stub(tmp_path, "import cupyquant.gpu.loader as gl\nassert gl.SLOT_BYTES > 0")
