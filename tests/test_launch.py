"""cupyquant.gpu.launch: programmatic dependent launch (PDL) through the CUDA
driver, and the ordinary CuPy launch everywhere else.

The structure layouts are checked against cuda.h without a GPU; the GPU test
chains kernels where each reads what the one before it wrote, launched with
PDL, and compares with plain launches bit for bit (a kernel that read before
its grid-dependency wait would see stale data)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from cupyquant import FORMATS, QuantizedTensor
from cupyquant.gpu import launch as gl
from cupyquant.gpu.platform import cupy_module, device_info, gpu_available
from cupyquant.qmatmul import matmul, matvec, mv_plan, runtime as rt
from cupyquant.testing import sane_blocks


def test_cuda_sm_reads_the_architecture(monkeypatch):
    """platform.cuda_sm, which PDL (sm_90+), the tensor-core kernels (sm_80+)
    and wgmma (sm_90 exactly) are chosen by: the number of an "sm_NN" name on
    CUDA, 0 on ROCm, without a GPU or for a name it cannot read."""
    from cupyquant.gpu import platform as pf
    for arch, be, want in [("sm_90", "cuda", 90), ("sm_80", "cuda", 80), ("sm_120", "cuda", 120),
                           ("sm_90", "rocm", 0), ("gfx90a", "rocm", 0), ("sm_x", "cuda", 0), (None, "cuda", 0)]:
        monkeypatch.setattr(pf, "backend", lambda be=be: be)
        monkeypatch.setattr(pf, "device_info", lambda dev, arch=arch: {} if arch is None else {"arch": arch})
        assert pf.cuda_sm(0) == want, (arch, be)


def test_driver_structures_match_cuda_h():
    # CUlaunchAttribute: id, 4 bytes of padding, a 64-byte union.
    assert ctypes.sizeof(gl._Attr) == 72 and gl._Attr.value.offset == 8
    # CUlaunchConfig: 7 unsigned ints, the stream handle 8-byte aligned,
    # the attribute pointer, the attribute count.
    assert gl._Config.shared_mem.offset == 24
    assert gl._Config.stream.offset == 32 and gl._Config.attrs.offset == 40
    assert gl._Config.num_attrs.offset == 48 and ctypes.sizeof(gl._Config) == 56


def test_dims_padded_to_three():
    assert gl._as3((5,)) == (5, 1, 1)
    assert gl._as3((5, 2)) == (5, 2, 1)
    assert gl._as3(7) == (7, 1, 1)


def test_fallback_is_cupys_launch(monkeypatch):
    """Without PDL (switched off, or no usable driver/GPU) the kernel object
    is called as CuPy's launch would be, with the same arguments."""
    calls = []

    def fake_kernel(grid, block, args, shared_mem=0, stream=None):
        calls.append((grid, block, args, shared_mem, stream))

    monkeypatch.setattr(gl, "PDL", False)
    gl.launch(fake_kernel, (3,), (256,), ("a", 1), shared_mem=64, stream="s", pdl=True)
    gl.launch(fake_kernel, (4, 2), (128,), (), pdl=False)
    assert calls == [((3,), (256,), ("a", 1), 64, "s"), ((4, 2), (128,), (), 0, None)]
    assert gl.pdl_usable(0) is False


def test_cluster_launch_attributes(monkeypatch):
    """A cluster launch goes through cuLaunchKernelEx with the cluster
    dimension attribute (cuda.h: id 4, three unsigned ints at the start of
    the value), and the PDL attribute (id 6, value 1) beside it where PDL is
    on; the config carries the grid, block, dynamic shared memory and stream,
    and kernelParams one pointer a kernel argument, at its value. Without the
    driver it is an error that says so, not CuPy's plain launch."""
    import types
    seen = []
    arg_types = (ctypes.c_int32, ctypes.c_float, ctypes.c_uint64, ctypes.c_int64, ctypes.c_uint32)

    class FakeDriver:
        def cuLaunchKernelEx(self, cfg_ref, func, params, extra):
            # read everything now: the launch's ctypes values live only during the call
            cfg = cfg_ref._obj
            attrs = []
            for i in range(cfg.num_attrs):
                a = cfg.attrs[i]
                attrs.append((a.id, tuple(a.value.dims) if a.id == 4 else a.value.as_int))
            ptrs = [params[i] for i in range(len(arg_types))]
            values = [t.from_address(p).value if p else None for t, p in zip(arg_types, ptrs)]
            seen.append({"grid": tuple(cfg.grid), "block": tuple(cfg.block), "shared_mem": cfg.shared_mem,
                         "stream": cfg.stream, "attrs": attrs, "func": func, "extra": extra,
                         "null_params": [i for i, p in enumerate(ptrs) if not p], "args": values})
            return 0

    assert gl._AttrValue.dims.offset == 0 and gl._AttrValue.as_int.offset == 0
    current = types.SimpleNamespace(ptr=0x5150)
    fake_cp = types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(getDevice=lambda: 0),
                                                               get_current_stream=lambda: current))
    monkeypatch.setattr(gl, "cupy_module", lambda: fake_cp)
    monkeypatch.setattr(gl, "_libcuda", lambda: FakeDriver())
    kern = types.SimpleNamespace(ptr=1234, name="k")
    args = (np.int32(-7), np.float32(2.5), np.uint64(2**63 + 5), np.int64(-(2**40) - 3), np.uint32(4000000000))
    expect_args = [-7, 2.5, 2**63 + 5, -(2**40) - 3, 4000000000]
    explicit = types.SimpleNamespace(ptr=0xABC0)
    for pdl in (False, True):
        monkeypatch.setattr(gl, "pdl_usable", lambda dev, pdl=pdl: pdl)
        gl.launch(kern, (63, 3), (128, 2), args, shared_mem=40000, cluster=(1, 3, 1), pdl=True)
        gl.launch(kern, (5,), (256,), args, shared_mem=1536, stream=explicit, cluster=(2, 1, 1), pdl=True)
    monkeypatch.setattr(gl, "pdl_usable", lambda dev: True)
    gl.launch(kern, (9, 2), (64,), args, shared_mem=72, pdl=True)  # PDL alone, no cluster
    common = {"func": 1234, "extra": None, "null_params": [], "args": expect_args}
    assert seen == [
        dict(common, grid=(63, 3, 1), block=(128, 2, 1), shared_mem=40000, stream=0x5150, attrs=[(4, (1, 3, 1))]),
        dict(common, grid=(5, 1, 1), block=(256, 1, 1), shared_mem=1536, stream=0xABC0, attrs=[(4, (2, 1, 1))]),
        dict(common, grid=(63, 3, 1), block=(128, 2, 1), shared_mem=40000, stream=0x5150,
             attrs=[(4, (1, 3, 1)), (6, 1)]),
        dict(common, grid=(5, 1, 1), block=(256, 1, 1), shared_mem=1536, stream=0xABC0,
             attrs=[(4, (2, 1, 1)), (6, 1)]),
        dict(common, grid=(9, 2, 1), block=(64, 1, 1), shared_mem=72, stream=0x5150, attrs=[(6, 1)]),
    ]
    monkeypatch.setattr(gl, "_libcuda", lambda: False)
    with pytest.raises(RuntimeError, match="cluster"):
        gl.launch(kern, (63, 3), (256,), (), cluster=(1, 3, 1))


def test_max_active_clusters_asks_the_driver(monkeypatch):
    """max_active_clusters passes the driver a one-cluster grid with the
    cluster dimension attribute, the block and the shared memory; None where
    the driver lacks the function or fails."""
    import types
    seen = []

    class FakeDriver:
        def cuOccupancyMaxActiveClusters(self, n_ref, func, cfg_ref):
            cfg = cfg_ref._obj
            seen.append((tuple(cfg.grid), tuple(cfg.block), cfg.shared_mem, func,
                         [(cfg.attrs[i].id, tuple(cfg.attrs[i].value.dims)) for i in range(cfg.num_attrs)]))
            n_ref._obj.value = 77
            return 0

    kern = types.SimpleNamespace(ptr=99)
    monkeypatch.setattr(gl, "_libcuda", lambda: FakeDriver())
    assert gl.max_active_clusters(kern, (256,), 40000, (1, 3, 1)) == 77
    assert seen == [((1, 3, 1), (256, 1, 1), 40000, 99, [(4, (1, 3, 1))])]
    FakeDriver.cuOccupancyMaxActiveClusters = lambda self, n_ref, func, cfg_ref: 1  # an error status
    assert gl.max_active_clusters(kern, (256,), 40000, (1, 3, 1)) is None
    monkeypatch.setattr(gl, "_libcuda", lambda: types.SimpleNamespace())  # no such function
    assert gl.max_active_clusters(kern, (256,), 40000, (1, 3, 1)) is None
    monkeypatch.setattr(gl, "_libcuda", lambda: False)
    assert gl.max_active_clusters(kern, (256,), 40000, (1, 3, 1)) is None


def test_pdl_and_clusters_need_sm90_and_the_driver(monkeypatch):
    """PDL and cluster launches need CUDA sm_90+ and a driver with
    cuLaunchKernelEx; PDL also the PDL switch."""
    for sm, driver, pdl_on, clusters, pdl in [(90, True, True, True, True), (90, True, False, True, False),
                                              (80, True, True, False, False), (90, False, True, False, False),
                                              (0, True, True, False, False)]:
        monkeypatch.setattr(gl, "_sm90_devices", {})
        monkeypatch.setattr(gl, "cuda_sm", lambda dev, sm=sm: sm)
        monkeypatch.setattr(gl, "_libcuda", lambda driver=driver: driver)
        monkeypatch.setattr(gl, "PDL", pdl_on)
        assert gl.clusters_usable(0) is clusters and gl.pdl_usable(0) is pdl, (sm, driver, pdl_on)


needs_gpu = pytest.mark.skipif(not gpu_available(), reason="no usable GPU (CuPy)")


@needs_gpu
def test_pdl_usable_where_the_driver_and_gpu_have_it(monkeypatch):
    monkeypatch.setattr(gl, "PDL", True)
    gl._sm90_devices.clear()
    arch = device_info(0).get("arch", "")
    expect = arch.startswith("sm_") and int(arch[3:]) >= 90 and bool(gl._libcuda())
    assert gl.pdl_usable(0) is expect


@needs_gpu
def test_unsupported_argument_type_is_named():
    with pytest.raises(TypeError, match="float"):
        gl._c_arg(1.5)


def test_tensor_map_is_passed_by_value():
    """A TMA tensor map is a 128-byte structure the driver launch passes by
    value (kernelParams points at it), like cuda.h's CUtensorMap."""
    from cupyquant.gpu.tensor_map import TensorMap
    tmap = TensorMap()
    assert ctypes.sizeof(TensorMap) == 128
    assert gl._c_arg(tmap) is tmap


def test_a_structure_argument_takes_the_driver_launch(monkeypatch):
    """Without PDL or clusters a launch is CuPy's, unless an argument is a
    ctypes structure (a tensor map), which only the driver launch can pass."""
    from cupyquant.gpu.tensor_map import TensorMap
    calls = []
    monkeypatch.setattr(gl, "_libcuda", lambda: False)   # no driver: the driver launch raises
    plain = (np.uint64(0), np.int32(3), np.int64(5), np.zeros(2))
    gl.launch(lambda *a, **kw: calls.append(a), (1,), (32,), plain)
    assert len(calls) == 1
    with pytest.raises(RuntimeError, match="a structure argument"):
        gl.launch(lambda *a, **kw: calls.append(a), (1,), (32,), (TensorMap(),) + plain)
    assert len(calls) == 1


def test_tensor_map_refuses_misaligned_tensors(monkeypatch):
    from cupyquant.gpu import tensor_map
    monkeypatch.setattr(tensor_map, "_encode", lambda *a: 0)  # an encoder that would succeed
    with pytest.raises(ValueError, match="16-byte"):
        tensor_map.f16_rows_tiled(0x1008, 4, 64, 64, 4, 64)
    with pytest.raises(ValueError, match="16-byte"):
        tensor_map.f16_rows_tiled(0x1000, 4, 60, 60, 4, 64)
    with pytest.raises(ValueError, match="16-byte"):
        tensor_map.u8_rows_tiled(0x1000, 4, 2304, 128, 140)   # a box row of 140 bytes
    assert isinstance(tensor_map.u8_rows_tiled(0x1000, 4, 2304, 128, 144), tensor_map.TensorMap)
    monkeypatch.setattr(tensor_map, "_encode", False)
    with pytest.raises(RuntimeError, match="cuTensorMapEncodeTiled"):
        tensor_map.f16_rows_tiled(0x1000, 4, 64, 64, 4, 64)


@needs_gpu
@pytest.mark.parametrize("x_dtype", ["float16", "float32"])
def test_dependent_kernels_see_their_inputs(monkeypatch, x_dtype):
    """x is written by a dequantization kernel, read at once by the
    matrix-vector kernel, then overwritten by the next round's dequantization:
    results with PDL equal those of plain launches, bit for bit."""
    cp = cupy_module()
    rng = np.random.default_rng(12)
    n, k, rounds = 3000, 4096, 12
    w = QuantizedTensor(FORMATS["Q4_0"], (n, k),
                        cp.asarray(sane_blocks(FORMATS["Q4_0"], n * k // 32, rng)))
    src_fmt = FORMATS["F16"]
    # Each round's activations as F16 "blocks": large, so that a stale read shows.
    srcs = [cp.asarray((rng.standard_normal(k) * 4).astype(np.float16).view(np.uint8))
            for _ in range(rounds)]
    dtype = cp.dtype(x_dtype)

    def chain():
        x = cp.full((1, k), np.nan, dtype=dtype)
        ys = []
        for s in srcs:
            src_fmt.dequant(s, out=x.reshape(-1))      # writes x
            ys.append(matmul(x, w))                    # reads x; the next round overwrites it
        return cp.stack(ys)

    monkeypatch.setattr(matvec, "MATVEC_PDL", "always")  # also outside graph capture
    monkeypatch.setattr(gl, "PDL", False)
    ref = chain()
    cp.cuda.Device().synchronize()
    monkeypatch.setattr(gl, "PDL", True)
    if not gl.pdl_usable(cp.cuda.runtime.getDevice()):
        pytest.skip("no PDL on this device (sm_90 and cuLaunchKernelEx needed)")
    pdl_launches = []
    real_config = gl._config

    def config_spy(grid, block, shared_mem, stream_ptr, cluster, pdl):
        pdl_launches.append(bool(pdl))
        return real_config(grid, block, shared_mem, stream_ptr, cluster, pdl)

    monkeypatch.setattr(gl, "_config", config_spy)
    got = chain()
    cp.cuda.Device().synchronize()
    # every round's dequantization went through cuLaunchKernelEx with PDL on
    # (the matrix-vector launches may too: MATVEC_PDL "always")
    assert pdl_launches.count(True) >= rounds, pdl_launches
    view = cp.uint16 if dtype == cp.float16 else cp.uint32
    assert bool(cp.isfinite(ref).all())
    assert bool((got.view(view) == ref.view(view)).all())


def test_matvec_pdl_only_under_capture_by_default(monkeypatch):
    """The matrix-vector kernels use PDL while the current stream is being
    captured into a graph (where launches run back to back), not for calls
    launched one at a time, whose cost is the host's; a failing query means no."""
    import types

    def fake_cp(capturing):
        def is_capturing():
            if isinstance(capturing, Exception):
                raise capturing
            return capturing
        stream = types.SimpleNamespace(is_capturing=is_capturing)
        return types.SimpleNamespace(cuda=types.SimpleNamespace(get_current_stream=lambda: stream))

    monkeypatch.setattr(matvec, "MATVEC_PDL", "capture")
    assert matvec._matvec_pdl(fake_cp(True)) is True
    assert matvec._matvec_pdl(fake_cp(False)) is False
    assert matvec._matvec_pdl(fake_cp(RuntimeError("legacy stream"))) is False
    monkeypatch.setattr(matvec, "MATVEC_PDL", "always")
    assert matvec._matvec_pdl(fake_cp(False)) is True
    monkeypatch.setattr(matvec, "MATVEC_PDL", "never")
    assert matvec._matvec_pdl(fake_cp(True)) is False


@needs_gpu
@pytest.mark.parametrize("x_dtype", ["float16", "float32"])
def test_early_scheduled_products_see_their_inputs(monkeypatch, x_dtype):
    """Matrix-vector grids that fill the GPU let the next grid be scheduled
    before they end (CQ_MV_EARLY), and their thread blocks prefetch weights
    before their wait: a chain A, B, A, B where each product's x is the
    previous product's y (A: N x 4096 with a full grid, B: 4096 x N) gives the
    same bits with PDL as with plain launches, and A's launches really took
    the early path."""
    cp = cupy_module()
    dev = cp.cuda.Device().id
    sms = device_info(dev).get("sm_count", 80)
    dtype = cp.dtype(x_dtype)
    k = 4096
    # The fewest weight rows whose plan (one activation row) fills every
    # resident slot, with the activations in shared memory (no float32
    # records' kernel first, where the early path is off).
    n = None
    for cand in range(4096, 65537, 256):
        plan = mv_plan._mv_plan(cp, dtype, dtype, 1, k // 32, -(-cand // 16), 1, sms)
        if plan[-1] and plan[6]:
            n = cand
            break
    assert n is not None, "no full matrix-vector grid up to 65536 rows"
    rng = np.random.default_rng(15)
    fmt = FORMATS["Q4_0"]
    wa = QuantizedTensor(fmt, (n, k), cp.asarray(sane_blocks(fmt, n * k // 32, rng)))
    wb = QuantizedTensor(fmt, (k, n), cp.asarray(sane_blocks(fmt, n * k // 32, rng)))
    x0 = cp.asarray(rng.standard_normal((1, k)).astype(x_dtype))
    flags = []
    real_launch = rt.launch

    def spy(kern, grid, block, args, **kw):
        if len(args) == 13:  # the tensor-core matrix-vector kernel: (N, mode) are args 2 and 9
            flags.append((int(args[2]), int(args[9]) & matvec.MV_EARLY))
        return real_launch(kern, grid, block, args, **kw)

    def chain():
        y = x0
        for w in (wa, wb, wa, wb):
            y = matmul(y, w, path="matvec")
        return y

    monkeypatch.setattr(rt, "launch", spy)
    monkeypatch.setattr(matvec, "MATVEC_PDL", "never")
    ref = chain()
    cp.cuda.Device().synchronize()
    assert len(flags) == 4 and not any(f for _, f in flags)
    flags.clear()
    monkeypatch.setattr(matvec, "MATVEC_PDL", "always")
    got = chain()
    cp.cuda.Device().synchronize()
    early_a = [bool(f) for rows, f in flags if rows == n]
    assert len(early_a) == 2 and all(early_a) == gl.pdl_usable(dev)
    view = cp.uint16 if dtype == cp.float16 else cp.uint32
    assert bool(cp.isfinite(ref).all())
    assert bool((got.view(view) == ref.view(view)).all())
