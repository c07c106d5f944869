"""Every matmul kernel launch, and every launch of the dequantization kernels
(dequant, load_gguf, in place), passes the arguments its kernel takes: as
many, in the same order, each of the kind and size the kernel declares.
Checked without a GPU.

The host's launches run on a stand-in CuPy (NumPy arrays with a ``.data.ptr``
and a device) with kernel lookups, launches, occupancy and the device
queries of cupyquant.qmatmul.runtime replaced, so that every path's real
planning and argument lists execute; each launch is recorded. The kernels'
parameter lists come from the AMD code objects that hiprtc builds from the
same sources (their AMDGPU metadata lists each kernel's explicit arguments:
a pointer is a "global_buffer" of 8 bytes, a scalar "by_value" of its size,
a TMA tensor map "by_value" of 128). A host that passed one argument too few
(session 40's staging once left the wgmma kernels taking an x_ready the host
no longer passed) would read an undefined argument on a GPU; here it fails.

The same launches on tests/gpu_sim.py's machine of two GPUs, with x and w on
the second while the first is current, show that matmul runs every kernel
there, with every pointer argument in that GPU's memory.
"""

from __future__ import annotations

import ctypes
import functools
import types

import numpy as np
import pytest

from gpu_sim import NumPyBacked, Sim, install
from test_compile import _need_compiler, _need_msgpack

from cupyquant import QuantizedTensor
from cupyquant.qmatmul import dequant_gemm, dispatch, matvec, runtime as rt, wgmma as wg

SMS = 132
_REAL_AS_F16 = rt._as_f16   # before the host fixture replaces it


class FakeArray(NumPyBacked):
    """Stands in for a CuPy array where the host code looks: a NumPy array
    underneath, its host address as ``.data.ptr``, and a ``.device``. (Not
    an ndarray subclass: matmul takes NumPy arrays to its host path.)"""

    device = property(lambda self: _DEVICE)

    def _wrap(self, a):
        return FakeArray(a)

    def __setitem__(self, index, value):
        self.a[index] = value.a if isinstance(value, FakeArray) else value


class _Device:
    id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


_DEVICE = _Device()


def _aligned(shape, dtype) -> FakeArray:
    """Zeroed, 256-byte aligned (as CuPy's allocations)."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.zeros(nbytes + 256, np.uint8)
    start = -raw.__array_interface__["data"][0] % 256
    return FakeArray(raw[start:start + nbytes].view(dtype).reshape(shape))


def _fake_cupy():
    stream = types.SimpleNamespace(ptr=0, is_capturing=lambda: False)
    return types.SimpleNamespace(
        ndarray=FakeArray, dtype=np.dtype, float16=np.float16, float32=np.float32, uint8=np.uint8,
        uint16=np.uint16, uint32=np.uint32, int32=np.int32,
        empty=lambda shape, dtype=np.float32: _aligned(shape, dtype),
        zeros=lambda shape, dtype=np.float32: _aligned(shape, dtype),
        full=lambda shape, value, dtype=np.float32: _fill(_aligned(shape, dtype), value),
        array=lambda a, order="C", copy=True: _fill(_aligned(a.shape, a.dtype), a.a),
        cuda=types.SimpleNamespace(Device=lambda *a: _DEVICE, get_current_stream=lambda: stream))


def _fill(arr, value):
    arr[...] = value
    return arr


class FakeKernel:
    """A kernel that records its direct calls (``kern(grid, block, args)``)."""

    shared_size_bytes = 0
    max_dynamic_shared_size_bytes = 48 << 10

    def __init__(self, name: str, launched: list):
        self.name, self._launched = name, launched

    def __call__(self, grid, block, args, **kw):
        self._launched.append((self.name, tuple(args)))


def _recording_launch(launched: list):
    """A stand-in for gpu.launch.launch that records (kernel name, args)."""
    return lambda kern, grid, block, args, **kw: launched.append((kern.name, tuple(args)))


@functools.lru_cache(maxsize=None)
def _kernel_args(source: str, label: str) -> dict:
    """Kernel name -> [(value kind, size)] of its explicit arguments, from
    hiprtc's gfx90a build of ``source`` (skipped without hiprtc or msgpack,
    failed in CI)."""
    from cupyquant import amd_code_object
    from cupyquant.offline_compile import compile_source
    _need_compiler("gfx90a")
    _need_msgpack()
    res = compile_source(source, "gfx90a", f"{label}.hip")
    assert res.ok, res.log
    return {name: [(a[".value_kind"], a[".size"]) for a in meta[".args"]
                   if not a[".value_kind"].startswith("hidden_")]
            for name, meta in amd_code_object.kernels(res.code).items()}


def _matmul_kernel_args() -> dict:
    """_kernel_args of both matmul modules."""
    from cupyquant import matmul_kernels as mk
    return {**_kernel_args(mk.matmul_source(), "matmul"), **_kernel_args(mk.matmul_sm90_source(), "matmul_sm90")}


def _arg_kinds(arg) -> set:
    """The (value kind, size) pairs a host argument may fill."""
    if isinstance(arg, NumPyBacked):
        return {("global_buffer", 8)}
    if isinstance(arg, np.uint64):  # a null pointer (no workspace), or a 64-bit value
        return {("global_buffer", 8), ("by_value", 8)}
    if isinstance(arg, np.int64):
        return {("by_value", 8)}
    if isinstance(arg, np.int32):
        return {("by_value", 4)}
    if isinstance(arg, ctypes.Structure):  # a TMA tensor map, passed by value
        return {("by_value", ctypes.sizeof(arg))}
    return set()


@pytest.fixture
def host(monkeypatch):
    """The qmatmul host code on the stand-in CuPy: returns (launches, setup);
    every module cache it fills is a fresh one, so nothing stays behind."""
    from cupyquant.gpu import tensor_map
    cp, launched = _fake_cupy(), []
    monkeypatch.setattr(rt, "cupy_module", lambda: cp)
    monkeypatch.setattr(rt, "cuda_sm", lambda dev: 90)
    monkeypatch.setattr(dispatch, "_tensor_cores", lambda dev: True)
    monkeypatch.setattr(wg, "wgmma_available", lambda dev: True)
    setup = {"sms": SMS, "pdl": True}
    monkeypatch.setattr(rt, "device_info",
                        lambda dev: {"sm_count": setup["sms"], "smem_optin": 232448, "warp_size": 32})
    monkeypatch.setattr(rt, "pdl_usable", lambda dev: setup["pdl"])
    monkeypatch.setattr(rt, "clusters_usable", lambda dev: True)
    monkeypatch.setattr(rt, "max_active_clusters", lambda kern, block, smem, cluster: 1 << 20)
    monkeypatch.setattr(rt, "_occupancy", lambda cp, kern, smem: max(1, min(8, (227 << 10) // (smem + 1024))))
    monkeypatch.setattr(rt, "_function", lambda name: FakeKernel(name, launched))
    monkeypatch.setattr(rt, "_sm90_function", lambda name: FakeKernel(name, launched))
    monkeypatch.setattr(rt, "launch", _recording_launch(launched))
    monkeypatch.setattr(rt, "_as_f16", lambda cp, x: x if x.dtype == np.float16 else _aligned(x.shape, np.float16))
    for module, name, fresh in ((rt, "_counters", {}), (rt, "_smem_set", set()), (rt, "_occ_cache", {}),
                                (matvec, "_mv_plans", {}), (wg, "tma_error", {})):
        monkeypatch.setattr(module, name, fresh)
    # TMA tensor maps made by the real code with an encoder that succeeds
    monkeypatch.setattr(tensor_map, "_encoder", lambda: (lambda *args: 0))
    monkeypatch.setattr(wg, "_w_tensor_map", functools.lru_cache(maxsize=None)(wg._w_tensor_map.__wrapped__))
    return launched, setup


def _product(m: int, n: int, k: int, x_dtype, y_dtype, path, read_only=False):
    w = QuantizedTensor("Q4_0", (n, k), _aligned((n * k // 32 * 18,), np.uint8), read_only=read_only)
    x = _aligned((m, k), x_dtype)
    out = _aligned((m, n), y_dtype)
    dispatch.matmul(x, w, out=out, path=path)


def _check(launched: list, what: str, params: dict | None = None) -> set:
    """Assert every recorded launch against its kernel's parameters
    (``params``: _kernel_args; None: the matmul modules'); returns the
    kernel names seen."""
    params = _matmul_kernel_args() if params is None else params
    assert launched, f"{what}: nothing was launched"
    for name, args in launched:
        assert name in params, f"{what}: {name} is not a kernel of its module"
        want = params[name]
        assert len(args) == len(want), (f"{what}: {name} takes {len(want)} arguments, the host passed "
                                        f"{len(args)}: {[type(a).__name__ for a in args]}")
        for i, (arg, kind) in enumerate(zip(args, want)):
            assert kind in _arg_kinds(arg), f"{what}: {name} argument {i} is {kind}, the host passed {arg!r}"
    return {name for name, _ in launched}


@pytest.mark.parametrize("x_dtype", ["float16", "float32"])
def test_matvec_launch_args(host, x_dtype):
    """The tensor-core matrix-vector plans (x_shared with and without a
    queue, one-row builds, register bounds, the "_xr" ring, K splits summed
    in clusters or a workspace, float32 x's parts kernel) with PDL and
    without, read-only weights or not."""
    launched, setup = host
    seen = set()
    for pdl, read_only in ((True, True), (False, False)):
        setup["pdl"] = pdl
        for m in (1, 2, 3, 4, 8) + ((9, 16) if x_dtype == "float16" else ()):
            for n, k in ((4096, 4096), (14336, 4096), (4096, 14336), (1000, 512), (1024, 32768), (2048, 8192)):
                for y_dtype in ("float32", "float16"):
                    launched.clear()
                    _product(m, n, k, x_dtype, y_dtype, "matvec_f16tc", read_only)
                    seen |= _check(launched, f"matvec {x_dtype} M={m} {n}x{k} -> {y_dtype}, pdl {pdl}")
    kinds = {"_xsq": "_xsq" in "".join(seen), "_xr": any(s.endswith("_xr") for s in seen),
             "_xs": "_xs" in "".join(seen)}
    assert kinds["_xsq"] and kinds["_xs"], sorted(seen)
    assert kinds["_xr"] or x_dtype == "float32", sorted(seen)
    assert len(seen) >= 8, sorted(seen)   # many kernels, not one path over and over


@pytest.mark.parametrize("path", ["matvec_int8", "matvec_generic", "mma", "mma_generic"])
def test_other_paths_launch_args(host, path):
    launched, _ = host
    for m in (1, 5, 8, 17, 100):
        for x_dtype in ("float16", "float32"):
            for y_dtype in ("float32", "float16"):
                launched.clear()
                _product(m, 1000, 1024, x_dtype, y_dtype, path)
                _check(launched, f"{path} {x_dtype} M={m} -> {y_dtype}")


@pytest.mark.parametrize("tma", [True, False])
def test_wgmma_launch_args(host, tma, monkeypatch):
    """The wgmma plans (128 and 64 weight rows, 64 / 128 / 256 activation
    rows, K splits, the tail launch of a last wave) with TMA tensor maps and
    with cp.async."""
    launched, setup = host
    monkeypatch.setattr(wg, "WGMMA_TMA", tma)
    seen = set()
    for sms in (SMS, 8):   # 8 SMs: several waves, so a tail launch
        setup["sms"] = sms
        for m in (17, 64, 200, 300, 512):
            for n, k in ((4096, 4096), (1000, 14336), (4096 + 36, 4096), (14336, 512)):
                for x_dtype, y_dtype in (("float16", "float32"), ("float32", "float32"), ("float16", "float16")):
                    launched.clear()
                    _product(m, n, k, x_dtype, y_dtype, "wgmma")
                    seen |= _check(launched, f"wgmma M={m} {n}x{k} {x_dtype} -> {y_dtype}, {sms} SMs, tma {tma}")
    assert all(("_tma_" in name) == tma for name in seen if "wgmma" in name), sorted(seen)
    assert any("_r64" in name for name in seen) and any("_n64" in name for name in seen), sorted(seen)


def test_check_catches_a_missing_argument(host):
    """The check fails where the host passes one argument too few."""
    launched, _ = host
    _product(1, 4096, 4096, "float16", "float32", "matvec_f16tc")
    name, args = launched[-1]
    with pytest.raises(AssertionError, match="arguments, the host passed"):
        _check([(name, args[:-1])], "dropped")
    with pytest.raises(AssertionError, match="argument 1 is"):
        _check([(name, (args[0], np.int32(0)) + args[2:])], "int32 for int64")


def test_dequant_launch_args(monkeypatch):
    """The dequantization launcher (load_gguf's and dequant's kernels, also
    in place) passes what every format's kernels take, float32 and float16
    output."""
    from cupyquant import FORMATS
    from cupyquant.gpu import dequant
    launched = []
    cp = _fake_cupy()
    monkeypatch.setattr(dequant, "cupy_module", lambda: cp)
    monkeypatch.setattr(dequant, "device_info", lambda dev: {"sm_count": SMS, "l2_bytes": 50 << 20})
    monkeypatch.setattr(dequant, "get_function", lambda key, source, name: FakeKernel(name, launched))
    monkeypatch.setattr(dequant, "device_table", lambda name, tables: _aligned((1024,), np.uint8))
    monkeypatch.setattr(dequant, "launch", _recording_launch(launched))
    monkeypatch.setattr(dequant, "_launcher", functools.lru_cache(maxsize=None)(dequant._launcher.__wrapped__))
    for name, fmt in FORMATS.items():
        params = _kernel_args(fmt.source, f"dequant_{name}")
        for out_dtype in ("float32", "float16"):
            launched.clear()
            dequant.dequant_launcher(fmt, out_dtype)(1 << 20, 2 << 20, 1000, sync_ptr=3 << 20)
            dequant.dequant_launcher(fmt, out_dtype)(1 << 20, 2 << 20, 1000, ahead=4)
            assert len(launched) == 2
            _check(launched, f"{name} -> {out_dtype}", params)


# ------------------------------------------------ matmul on the second GPU
@pytest.fixture
def second_gpu(host, monkeypatch):
    """The ``host`` stand-in on a simulated machine of two GPUs
    (tests/gpu_sim.py): arrays are allocations of one GPU, and every launch
    is recorded with the GPU current at its launch and at its kernel's
    lookup. Returns (sim, launched, records)."""
    launched, _ = host
    sim = Sim(2)
    install(monkeypatch, sim)     # the dequantization kernels (float32 x -> float16) too
    monkeypatch.setattr(rt, "cupy_module", lambda: sim.cp)
    records = []

    class Kernel(FakeKernel):
        def __init__(self, name):
            super().__init__(name, launched)
            self.device = sim.current     # get_function loads a kernel on the current device

        def __call__(self, grid, block, args, stream=None, **kw):
            launched.append((self.name, tuple(args)))
            records.append((self.name, self.device, sim.current, stream, tuple(args)))

    def launch(kern, grid, block, args, stream=None, **kw):
        kern(grid, block, args, stream=stream)

    def gemm_xwT(cp, x16, w16_ptr, rows, K, y, col0=0):
        """cuBLAS (its handle is the current device's): recorded like a launch."""
        records.append(("cublas_gemm", sim.current, sim.current, None,
                        (x16, np.uint64(w16_ptr), np.uint64(y.data.ptr + col0 * y.itemsize))))
        return True

    monkeypatch.setattr(rt, "_function", Kernel)
    monkeypatch.setattr(rt, "_sm90_function", Kernel)
    monkeypatch.setattr(rt, "launch", launch)
    monkeypatch.setattr(rt, "_as_f16", _REAL_AS_F16)   # the real one, on the simulated dequantization
    monkeypatch.setattr(dequant_gemm, "gemm_xwT", gemm_xwT)
    monkeypatch.setattr(dequant_gemm, "_raw_gemm_ok", {})
    return sim, launched, records


def _check_on_device(sim, records: list, dev: int, what: str) -> None:
    """Every recorded launch ran with GPU ``dev`` current, its kernel loaded
    there, on a stream of that GPU, and every pointer argument (its kernel's
    global_buffer parameters) inside an allocation of that GPU."""
    params = {**_matmul_kernel_args(), "cublas_gemm": [("global_buffer", 8)] * 3}
    assert records, f"{what}: nothing was launched"
    for name, kern_dev, cur, stream, args in records:
        assert cur == dev and kern_dev == dev, f"{what}: {name} launched on GPU {cur}, loaded on GPU {kern_dev}"
        assert stream is None or stream.device == dev, f"{what}: {name} on a stream of GPU {stream.device}"
        for i, (arg, (kind, _)) in enumerate(zip(args, params[name])):
            if kind != "global_buffer":
                continue
            ptr = arg.data.ptr if isinstance(arg, NumPyBacked) else int(arg)
            if ptr:
                alloc = sim.find(ptr, 1, f"{what}: {name} argument {i}")
                assert not alloc.pinned and alloc.device == dev, f"{what}: {name} argument {i} is in {alloc}"


@pytest.mark.parametrize("path", [None, "matvec_f16tc", "matvec_int8", "matvec_generic", "mma",
                                  "mma_generic", "wgmma"])
def test_matmul_on_the_second_gpu(second_gpu, path):
    """x and w on GPU 1 while GPU 0 is current (weights that
    device_map placed there): every kernel, workspace, counter and float16
    copy of x is on GPU 1, and so is the result. (No real two-GPU machine
    has been lent to run this on.)"""
    sim, launched, records = second_gpu
    cp = sim.cp
    kinds = set()
    for m, n, k in ((1, 4096, 4096), (3, 1000, 14336), (8, 4096, 14336), (64, 4096, 4096), (300, 1000, 1024)):
        for x_dtype in ("float16", "float32"):
            with cp.cuda.Device(1):
                w = QuantizedTensor("Q4_0", (n, k), cp.zeros(n * k // 32 * 18, cp.uint8))
                x = cp.zeros((m, k), x_dtype)
            records.clear()
            launched.clear()
            with cp.cuda.Device(0):
                y = dispatch.matmul(x, w, dtype="float32", path=path)
                assert sim.current == 0
            what = f"path {path} M={m} {n}x{k} {x_dtype}"
            assert y.device.id == 1 and y.shape == (m, n), what
            _check_on_device(sim, records, 1, what)
            if launched:   # (dequant_gemm launches only dequantization kernels and cuBLAS)
                _check(launched, what)
            kinds.update(kind for name, *_ in records for kind in ("_mv", "wgmma", "cublas") if kind in name)
    # the simulated dequantization kernels (float32 x to float16, weight slabs) ran on GPU 1
    assert {dev for dev, *_ in sim.launches} <= {1}
    if path is None:   # the automatic choice took every kind of kernel at these shapes
        assert kinds == {"_mv", "wgmma", "cublas"}, kinds


def test_on_device_check_catches_the_first_gpu(second_gpu):
    """_check_on_device fails for a launch with GPU 0 current, and for an
    argument in GPU 0's memory."""
    sim, launched, records = second_gpu
    cp = sim.cp
    with cp.cuda.Device(1):
        w = QuantizedTensor("Q4_0", (4096, 4096), cp.zeros(4096 * 4096 // 32 * 18, cp.uint8))
        x = cp.zeros((1, 4096), "float16")
    dispatch.matmul(x, w, path="matvec_generic")
    name, kern_dev, cur, stream, args = records[-1]
    with pytest.raises(AssertionError, match="launched on GPU 0"):
        _check_on_device(sim, [(name, kern_dev, 0, stream, args)], 1, "moved")
    elsewhere = cp.zeros(1 << 20, cp.uint8)   # on GPU 0, the current one
    with pytest.raises(AssertionError, match="argument 0 is in <1048576 bytes of GPU 0"):
        _check_on_device(sim, [(name, kern_dev, cur, stream, (elsewhere,) + args[1:])], 1, "moved")


def test_matvec_plan_follows_a_setting_changed_at_run_time(host, monkeypatch):
    """A setting changed between two calls (the plan cache not reset) takes
    effect at the next call, and changed back, the first plan returns."""
    from cupyquant.qmatmul import mv_plan
    launched, _ = host

    def kernel() -> str:
        launched.clear()
        _product(1, 4096, 4096, "float16", "float32", None)
        return launched[-1][0]

    first = kernel()
    assert "_xs" in first, first   # records of x in shared memory
    was = mv_plan.MV_X_SHARED_MAX
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_MAX", {})
    without = kernel()
    assert "_xs" not in without, without
    monkeypatch.setattr(mv_plan, "MV_X_SHARED_MAX", was)
    assert kernel() == first
