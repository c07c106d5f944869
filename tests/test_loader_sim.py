"""The GPU loader's host code on a simulated machine of one to four GPUs.

tests/gpu_sim.py stands in for CuPy (memory, pinned buffers, streams that run
late, events, copies, kernels emulated with the NumPy decoders). The real
cupyquant.gpu.loader then plans, reads, places and dispatches every tensor.
These tests run everywhere, CI included. They check the loader's plumbing:
* every byte reaches its place, against the CPU path, bit for bit;
* each tensor lands on the device ``device_map`` gives it;
* every copy, kernel, event and allocation is on the right device and stream;
* no buffer is reused before the work reading it has run;
* memory stays within the documented bounds;
* a failure on any device releases everything.

It includes the multi-GPU ``device_map`` path, which has never run on two
real GPUs. The kernels' own arithmetic is not tested here: test_gpu_loader
and test_gpu_dequant do that on a device.
"""

from __future__ import annotations

import gc
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, strategies as st

import test_gpu_loader
from gpu_sim import Sim, SimError, install
from test_gpu_loader import SMALL_SLOT, _bad_files, assert_same_as_cpu, expected_dtype, write_model

from cupyquant import GGUFError, load_gguf
from cupyquant.gpu import host_reader, load_plan
from cupyquant.gpu import loader as gl
from cupyquant.quantized import QuantizedTensor
from cupyquant.testing import assert_bit_exact

PATHS = ("in-place", "zero-copy", "staging")
#: The GPU loader tests' module-scoped fixture: a file with three tensors of
#: every format, and its CPU loads (float32, float16).
model = test_gpu_loader.model


def _machine(monkeypatch, path, n_devices=2, slot=SMALL_SLOT, **sim_args) -> Sim:
    """A Sim installed for this test, the loader on ``path`` with ``slot``-byte chunks."""
    sim = Sim(n_devices, **sim_args)
    install(monkeypatch, sim)
    monkeypatch.setattr(gl, "IN_PLACE", path == "in-place")
    monkeypatch.setattr(gl, "ZERO_COPY", path == "zero-copy")
    monkeypatch.setattr(gl, "SLOT_BYTES", slot)
    return sim


def _alternate(model, n_devices):
    """An explicit device_map: tensor i on GPU i % n_devices (device 0 gets the rest)."""
    return {name: i % n_devices for i, name in enumerate(model.cpu["float32"]) if i % n_devices}


def _expected_devices(model, device_map, n_devices, dtype):
    names = list(model.cpu["float32"])
    if device_map is None:
        return dict.fromkeys(names, 0)
    if device_map == "auto":
        info = model.cpu["float32"].info
        order = sorted(names, key=lambda n: int(info[n].offset))
        sizes = [int(info[n].n_elements) * np.dtype(expected_dtype(info[n], dtype)).itemsize for n in order]
        return dict(zip(order, load_plan.auto_device_map(sizes, n_devices)))
    return {n: device_map.get(n, 0) for n in names}


def _check_result(sim, model, got, dtype, devices):
    """test_gpu_loader's comparison with the CPU path, and each tensor on its device."""
    assert sim.pending() == 0, "load_gguf returned with work still queued"
    assert_same_as_cpu(sim.cp, got, model.cpu, dtype)
    for name in got:
        assert got[name].device.id == devices[name], (name, got[name].device.id, devices[name])


def _output_bytes(got, dev):
    return sum(int(a.nbytes) for a in got.values() if a.device.id == dev)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("n_devices,device_map", [(1, None), (2, "auto"), (3, "alternate")])
@pytest.mark.parametrize("dtype", [None, "float32", "float16"])
def test_loads_match_cpu_on_every_device(model, monkeypatch, path, n_devices, device_map, dtype):
    sim = _machine(monkeypatch, path, n_devices, seed=n_devices, chaos=0.3)
    dmap = _alternate(model, n_devices) if device_map == "alternate" else device_map
    got = load_gguf(model.path, device=0, device_map=dmap, dtype=dtype, progress=False)
    devices = _expected_devices(model, dmap, n_devices, dtype)
    _check_result(sim, model, got, dtype, devices)

    stats = gl.last_load_stats
    used = sorted(set(devices.values()))
    assert stats["complete"] and sorted(stats["devices"]) == used, stats
    assert set(stats["devices"].values()) == {path}, stats
    assert {dev for dev, *_ in sim.launches} == set(used)
    # Device memory now held beyond the outputs: only the in-place layout's
    # rounding (at most 255 bytes a tensor). Staging, sync areas, warm-up
    # buffers and piece copies are all released.
    gc.collect()
    for dev in used:
        extra = sim.live_bytes(dev) - _output_bytes(got, dev)
        assert 0 <= extra <= (255 * len(got) if path == "in-place" else 0), (dev, extra)
        # Peak beyond the outputs: the staging area on the staging path; in
        # place the layouts' rounding, the sync areas, and with float16
        # output the device copy of an F32 piece (at most a slot) queued at
        # a time on each stream; besides, the warm-up launches' block-sized
        # buffers (a few KiB).
        peak = sim.peak[dev] - _output_bytes(got, dev)
        if path == "staging":
            bound = stats["slot_bytes"] * gl.DEVICE_SLOTS
        elif path == "in-place":
            bound = 255 * len(got) + stats["device_sync_bytes"] + (
                stats["slots"] * stats["slot_bytes"] if dtype == "float16" else 0)
        else:
            bound = 0
        assert peak <= bound + 8 * 1024, (dev, peak, bound)
    assert sim.live_pinned_bytes() == 0


def test_mixed_paths_over_devices(model, monkeypatch):
    """GPU 1 cannot read pinned host memory: zero-copy on GPU 0, staging on GPU 1."""
    sim = _machine(monkeypatch, "zero-copy", 2, reads_host=[True, False], chaos=0.5, seed=3)
    got = load_gguf(model.path, device=0, device_map="auto", progress=False)
    _check_result(sim, model, got, None, _expected_devices(model, "auto", 2, None))
    stats = gl.last_load_stats
    assert stats["devices"] == {0: "zero-copy", 1: "staging"} and stats["path"] == "mixed", stats
    assert stats["device_slots"] == {1: 1}, stats


@pytest.mark.parametrize("path", PATHS)
def test_quantized_tensors_on_their_devices(model, monkeypatch, path):
    sim = _machine(monkeypatch, path, 3, chaos=0.3, seed=5)
    got = load_gguf(model.path, device=1, device_map="auto", quantized=True, progress=False)
    assert sim.pending() == 0
    kept = [n for n in got if isinstance(got[n], QuantizedTensor)]
    assert len(kept) > 60
    for name in kept:
        qt = got[name]
        assert qt.read_only and qt.shape == got.info[name].shape
        assert np.array_equal(sim.cp.asnumpy(qt.data), model.raws[name].reshape(-1)), name
    assert len({got[n].data.device.id for n in kept}) == 3


@pytest.mark.parametrize("path", PATHS)
def test_split_model_over_three_devices(tmp_path, monkeypatch, path):
    specs = [(f"blk.{i}.w", fmt, (8, 1024)) for i, fmt in enumerate(["Q4_0", "Q6_K", "IQ4_XS", "F16"] * 3)]
    parts = [specs[:5], specs[5:9], specs[9:]]
    for k, part in enumerate(parts):
        write_model(tmp_path / f"m-{k + 1:05d}-of-00003.gguf", part, seed=k)
    first = tmp_path / "m-00001-of-00003.gguf"
    cpu = load_gguf(first, device="cpu", dtype="float16")
    sim = _machine(monkeypatch, path, 3, chaos=0.3, seed=11)
    got = load_gguf(first, device=0, device_map="auto", dtype="float16", progress=False)
    assert list(got) == list(cpu) == [n for n, _, _ in specs]
    assert sim.pending() == 0
    for name in got:
        assert_bit_exact(sim.cp.asnumpy(got[name]), cpu[name], name)
    assert len({got[n].device.id for n in got}) == 3


@pytest.mark.parametrize("fmt_name", ["Q4_0", "Q5_K", "IQ2_XS", "BF16"])
def test_dequant_of_a_buffer_on_another_device(monkeypatch, fmt_name):
    """FORMATS[...].dequant, QuantizedTensor.dequant and dequant_in_place of
    a buffer on GPU 1 while GPU 0 is current: the kernel runs on GPU 1 and
    the result lives there; out= on GPU 0 is refused."""
    from cupyquant import FORMATS
    from cupyquant.gpu import inplace
    from cupyquant.testing import make_blocks
    sim = Sim(2, chaos=0.3)
    install(monkeypatch, sim)
    cp = sim.cp
    fmt = FORMATS[fmt_name]
    host = make_blocks(fmt, 96, np.random.default_rng(1))
    ref = fmt.dequant(host, dtype="float16")
    buf = sim.upload(host, 1)
    with cp.cuda.Device(0):
        got = fmt.dequant(buf, shape=(3, 32 * fmt.block_size), dtype="float16")
        qt = QuantizedTensor(fmt, (96 * fmt.block_size,), buf)
        again = qt.dequant(dtype="float16")
        with pytest.raises(ValueError, match="out= is on device 0, the buffer on device 1"):
            fmt.dequant(buf, out=cp.empty(96 * fmt.block_size, cp.float16))
        lay = inplace.layout(fmt, 96, 2)
        room = sim.upload(np.zeros(lay.alloc_bytes, np.uint8), 1)
        room.a[lay.src_offset:lay.src_offset + host.size] = host
        in_place = inplace.dequant_in_place(fmt, room, 96, "float16")
    for arr in (got, again, in_place):
        assert arr.device.id == 1
        assert_bit_exact(cp.asnumpy(arr), ref, fmt_name)
    assert {dev for dev, *_ in sim.launches} == {1}


@given(st.data())
def test_random_models_settings_and_placements(data):
    """Random small models (formats, shapes, one to three files), loaded with
    random pipeline settings, paths, placements, kept tensors and dtypes on
    one to four simulated GPUs under a random interleaving: every tensor as
    on the CPU path, on its device."""
    from cupyquant import FORMATS
    draw = data.draw
    names = list(FORMATS)
    n_tensors = draw(st.integers(1, 10), "tensors")
    specs = []
    for i in range(n_tensors):
        fmt = FORMATS[draw(st.sampled_from(names), f"format {i}")]
        width = fmt.block_size * draw(st.integers(1, 3 if fmt.block_size > 32 else 24), f"width {i}")
        rows = draw(st.integers(1, 40), f"rows {i}")
        specs.append((f"t{i}.{fmt.name.lower()}", fmt.name, (rows, width)))
    n_files = draw(st.integers(1, min(3, n_tensors)), "files")
    n_devices = draw(st.integers(1, 4), "devices")
    path = draw(st.sampled_from(PATHS), "path")
    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        cut = sorted(draw(st.sets(st.integers(1, n_tensors - 1), min_size=n_files - 1, max_size=n_files - 1),
                          "file cuts")) if n_files > 1 else []
        parts = [specs[a:b] for a, b in zip([0] + cut, cut + [n_tensors])]
        files = [Path(tmp) / (f"m-{k + 1:05d}-of-{len(parts):05d}.gguf" if len(parts) > 1 else "m.gguf")
                 for k in range(len(parts))]
        raws = {}
        for k, (part, file) in enumerate(zip(parts, files)):
            raws.update(write_model(file, part, seed=k))
        first = files[0]
        sim = _machine(mp, path, n_devices, slot=draw(st.sampled_from([17 << 10, 40_000, 1 << 20]), "slot"),
                       seed=draw(st.integers(0, 1 << 16), "seed"), chaos=draw(st.sampled_from([0.0, 0.3, 0.9])),
                       reads_host=[draw(st.booleans(), f"GPU {d} reads host") for d in range(n_devices)])
        n_slots = draw(st.integers(1, 5), "N_SLOTS")
        mp.setattr(gl, "N_SLOTS", n_slots)
        mp.setattr(gl, "LOOKAHEAD", draw(st.integers(0, 5), "LOOKAHEAD"))
        mp.setattr(gl, "DEVICE_SLOTS", draw(st.integers(1, 5), "DEVICE_SLOTS"))
        mp.setattr(gl, "HOST_THREADS", draw(st.integers(1, 4), "HOST_THREADS"))
        mp.setattr(gl, "READ_METHOD", draw(st.sampled_from(["mmap", "pread"]), "READ_METHOD"))
        all_names = [n for n, _, _ in specs]
        dmap = draw(st.dictionaries(st.sampled_from(all_names), st.integers(0, n_devices - 1)), "device_map")
        default = draw(st.integers(0, n_devices - 1), "device")
        quant = [n for n, f, _ in specs if f not in ("F32", "F16", "BF16")]
        keep = draw(st.sets(st.sampled_from(quant)) if quant else st.just(set()), "quantized")
        dtype = draw(st.sampled_from([None, "float32", "float16"]), "dtype")
        cpu = {dt: load_gguf(first, device="cpu", dtype=dt) for dt in ("float32", "float16")}
        got = load_gguf(first, device=default, device_map=dmap, quantized=keep, dtype=dtype, progress=False)
        assert list(got) == all_names and sim.pending() == 0
        for name in all_names:
            arr = got[name]
            if name in keep:
                assert isinstance(arr, QuantizedTensor) and arr.data.device.id == dmap.get(name, default)
                assert np.array_equal(sim.cp.asnumpy(arr.data), raws[name].reshape(-1)), name
                continue
            want = expected_dtype(got.info[name], dtype)
            assert arr.device.id == dmap.get(name, default), name
            assert_bit_exact(sim.cp.asnumpy(arr), cpu[want][name], f"{name} -> {want}")
        del got, arr
        gc.collect()
        assert sim.live_pinned_bytes() == 0


def test_device_arguments_pick_the_gpu(model, monkeypatch):
    """Every spelling of a device (id, NumPy integer, "cuda:N", "gpu:N", a
    cupy Device, None for the current one) puts the tensors there; a GPU
    that does not exist is a clear error, before anything is allocated."""
    sim = _machine(monkeypatch, "in-place", 3)
    cp = sim.cp
    for device, want in ((2, 2), (np.int64(1), 1), ("cuda:2", 2), ("gpu:1", 1), (cp.cuda.Device(2), 2)):
        got = load_gguf(model.path, device=device, progress=False)
        assert {a.device.id for a in got.values()} == {want}, device
    with cp.cuda.Device(1):
        got = load_gguf(model.path, device=None, progress=False)
        assert {a.device.id for a in got.values()} == {1} and sim.current == 1
    del got
    gc.collect()
    for device, match in (("cuda:3", "GPU 3 does not exist \\(3 visible\\)"), (-1, "GPU -1 does not exist"),
                          ("tpu:0", "device must be None, a GPU id or 'cuda:N'")):
        with pytest.raises(ValueError, match=match):
            load_gguf(model.path, device=device, progress=False)
    first = next(iter(model.cpu["float32"]))
    with pytest.raises(ValueError, match="GPU 7 does not exist"):
        load_gguf(model.path, device=0, device_map={first: 7}, progress=False)
    _assert_all_released(sim)


def test_progress_bar_counts_every_byte_once(model, monkeypatch):
    """The bar (by bytes) reaches the tensors' total, over three GPUs."""
    import cupyquant.loader as cpu_loader
    sim = _machine(monkeypatch, "staging", 3, chaos=0.3)
    bars = []

    class Bar:
        def __init__(self, total):
            self.total, self.n, self.closed = total, 0, False

        def update(self, n):
            self.n += n

        def close(self):
            self.closed = True

    def progress_bar(progress, total, desc):
        bars.append(Bar(total))
        return bars[-1]

    monkeypatch.setattr(cpu_loader, "_progress_bar", progress_bar)
    got = load_gguf(model.path, device=0, device_map="auto", progress=True)
    assert len(bars) == 1 and bars[0].closed
    assert bars[0].n == bars[0].total == sum(int(i.nbytes) for i in got.info.values())
    assert sim.pending() == 0


# ---------------------------------------------------------------- failures
def _assert_all_released(sim):
    gc.collect()
    assert sim.pending() == 0, "work left queued after the failure"
    for dev in range(sim.n_devices):
        assert sim.live_bytes(dev) == 0, (dev, sim.live_bytes(dev))
    assert sim.live_pinned_bytes() == 0


@pytest.mark.parametrize("path", PATHS)
def test_out_of_memory_on_the_second_device_releases_every_device(model, monkeypatch, path):
    sim = _machine(monkeypatch, path, 2, chaos=0.3, seed=2)
    sim.capacity[1] = 2 << 20       # about half of what "auto" puts there
    with pytest.raises(MemoryError, match="out of memory while loading tensor 'blk\\.") as err:
        load_gguf(model.path, device=0, device_map="auto", progress=False)
    name = str(err.value).split("'")[1]
    assert _expected_devices(model, "auto", 2, None)[name] == 1, name
    _assert_all_released(sim)   # with the exception (and its traceback) still alive
    del err


class _KernelFault(RuntimeError):
    pass


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("when", ["launch", "run"])
def test_kernel_failure_midway_releases_every_device(model, monkeypatch, path, when):
    """A launch that raises (as a bad launch does at once), or one that fails
    when it runs (as an asynchronous error surfaces at a synchronisation),
    on GPU 1 in the middle of the load."""
    sim = _machine(monkeypatch, path, 2, chaos=0.3, seed=4)
    real_launch, count = sim.launch, {"n": 0}

    def failing_launch(kern, grid, block, args, **kw):
        if sim.current == 1 and kern.fmt.name != "F32":
            count["n"] += 1
            if count["n"] == 20:
                if when == "launch":
                    raise _KernelFault("launch failed")
                real_launch(kern, grid, block, args, **kw)
                stream = kw.get("stream") or sim.current_stream()
                stream.queue[-1].run = _raise
                return
        real_launch(kern, grid, block, args, **kw)
    monkeypatch.setattr("cupyquant.gpu.dequant.launch", failing_launch)
    with pytest.raises(_KernelFault):
        load_gguf(model.path, device=0, device_map="auto", progress=False)
    # a failed launch stops the load there; a kernel's failure shows at the next wait
    assert count["n"] == 20 if when == "launch" else count["n"] >= 20
    _assert_all_released(sim)


def _raise():
    raise _KernelFault("kernel failed")


@pytest.mark.parametrize("path", PATHS)
def test_bad_files_same_error_as_cpu_on_two_devices(model, tmp_path, monkeypatch, path):
    sim = _machine(monkeypatch, path, 2)
    for what, bad in _bad_files(tmp_path, model).items():
        with pytest.raises(GGUFError) as cpu_err:
            load_gguf(bad, device="cpu")
        with pytest.raises(GGUFError) as gpu_err:
            load_gguf(bad, device=0, device_map="auto", progress=False)
        assert str(gpu_err.value) == str(cpu_err.value), what
        _assert_all_released(sim)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("exc", [GGUFError, KeyboardInterrupt])
def test_read_error_or_interrupt_midway_releases_every_device(model, monkeypatch, path, exc):
    """A host read that fails (GGUFError from a copy thread) or Ctrl-C in the
    dispatching thread, once chunks of both devices are under way."""
    sim = _machine(monkeypatch, path, 2, chaos=0.3, seed=6)
    real_read, real_launch, calls = host_reader.HostReader.read_into, sim.launch, []

    def failing_read(self, file_index, offset, dst):
        calls.append(offset)
        if len(calls) == 30:
            raise GGUFError("read failed: injected", path=self.paths[file_index], offset=offset)
        return real_read(self, file_index, offset, dst)

    def interrupted_launch(kern, grid, block, args, **kw):
        calls.append(sim.current)
        if sim.current == 1 and calls.count(1) == 10:
            raise KeyboardInterrupt("injected")
        real_launch(kern, grid, block, args, **kw)

    if exc is GGUFError:
        monkeypatch.setattr(host_reader.HostReader, "read_into", failing_read)
    else:
        monkeypatch.setattr("cupyquant.gpu.dequant.launch", interrupted_launch)
    with pytest.raises(exc, match="injected") as err:
        load_gguf(model.path, device=0, device_map="auto", progress=False)
    assert not gl.last_load_stats["complete"]
    _assert_all_released(sim)   # with the exception (and its traceback) still alive
    del err


# ------------------------------------------ the simulation catches mistakes
# A check that cannot fail proves nothing: each test below makes the load
# wrong in one way and asserts that the simulated machine notices.
def _load_is_wrong(sim, model, **kw) -> str:
    """What is wrong with the load ("" when nothing): a SimError's message,
    or the first tensor whose bits differ from the CPU path's."""
    try:
        got = load_gguf(model.path, device=0, progress=False, **kw)
        _check_result(sim, model, got, kw.get("dtype"),
                      _expected_devices(model, kw.get("device_map"), sim.n_devices, kw.get("dtype")))
    except AssertionError as e:      # SimError is one
        return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    return ""


def _without_waits(monkeypatch, sim):
    """Streams ignore wait_event; at each synchronisation they run in reverse
    order of creation (a legal order once nothing is waited for)."""
    monkeypatch.setattr(type(sim.cp.cuda.Stream()), "wait_event", lambda self, event: None)
    monkeypatch.setattr(sim, "drain", lambda dev=None: [sim.advance(s, s.queued) for s in reversed(sim.streams)])


def test_detects_a_staging_area_refilled_under_its_kernels(model, monkeypatch):
    """Staging path, one device staging area shared by the slots' streams:
    without the event wait, the next chunk's copy into it runs before the
    kernels reading the previous chunk."""
    sim = _machine(monkeypatch, "staging", 1)
    assert not _load_is_wrong(sim, model)
    _without_waits(monkeypatch, sim)
    assert _load_is_wrong(sim, model)


def test_detects_in_place_pieces_out_of_order(model, monkeypatch):
    """In place: without the event wait, a tensor's later piece (on another
    stream) runs first, its stores over the input of an earlier piece."""
    sim = _machine(monkeypatch, "in-place", 1)
    assert not _load_is_wrong(sim, model, dtype="float32")
    _without_waits(monkeypatch, sim)
    assert _load_is_wrong(sim, model, dtype="float32")


@pytest.mark.parametrize("path", PATHS)
def test_detects_a_pinned_buffer_refilled_before_its_readers_ran(model, monkeypatch, path):
    """Event.synchronize does nothing: the host refills a pinned buffer
    whose host -> device copy (or zero-copy kernels) are still queued."""
    sim = _machine(monkeypatch, path, 1)
    monkeypatch.setattr(type(sim.cp.cuda.Event()), "synchronize", lambda self: None)
    assert _load_is_wrong(sim, model)


def test_detects_wrong_device_use():
    sim = Sim(2)
    cp = sim.cp
    with cp.cuda.Device(1):
        s1 = cp.cuda.Stream()
        a1 = cp.empty(64, cp.uint8)
    with cp.cuda.Device(0):
        a0 = cp.empty(64, cp.uint8)
        s0 = cp.cuda.Stream()
        with pytest.raises(SimError, match="stream of GPU 1 used while GPU 0"):
            cp.cuda.runtime.memcpyAsync(a0.data.ptr, a0.data.ptr + 32, 32, 3, s1.ptr)
        with pytest.raises(SimError, match="touches <64 bytes of GPU 1"):
            cp.cuda.runtime.memcpyAsync(a0.data.ptr, a1.data.ptr, 32, 3, s0.ptr)
        with pytest.raises(SimError, match="recorded on a stream of GPU 1"):
            cp.cuda.Event().record(s1)
        with pytest.raises(SimError, match="not inside one allocation"):
            cp.cuda.runtime.memcpyAsync(a0.data.ptr + 40, a0.data.ptr, 32, 3, s0.ptr)


def test_detects_use_after_free():
    sim = Sim(1)
    cp = sim.cp
    s, t = cp.cuda.Stream(), cp.cuda.Stream()
    keep = cp.empty(64, cp.uint8)
    with s:
        tmp = cp.empty(64, cp.uint8)
    ptr = tmp.data.ptr
    cp.cuda.runtime.memcpyAsync(keep.data.ptr, ptr, 64, 3, s.ptr)   # queued before the free: fine
    del tmp
    gc.collect()
    s.synchronize()
    cp.cuda.runtime.memcpyAsync(keep.data.ptr, ptr, 64, 3, s.ptr)   # queued after it: not
    with pytest.raises(SimError, match="after it was freed"):
        s.synchronize()
    with s:
        tmp = cp.empty(64, cp.uint8)
    ptr = tmp.data.ptr
    cp.cuda.runtime.memcpyAsync(keep.data.ptr, ptr, 64, 3, t.ptr)   # another stream, then freed
    del tmp
    gc.collect()
    with pytest.raises(SimError, match="after it was freed"):
        t.synchronize()
