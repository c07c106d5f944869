"""Dry run of benchmarks/test_bench_matmul_host.py's Python on the stand-in
CuPy of tests/test_launch_args.py (no GPU): the launches are recorded and
replayed, every figure is filled. The times mean nothing here."""
import sys
import types

import numpy as np
import pytest

sys.path[:0] = ["tests", "benchmarks"]
import test_launch_args as tla  # noqa: E402
import test_bench_matmul_host as hb  # noqa: E402
from cupyquant import QuantizedTensor  # noqa: E402
from cupyquant.qmatmul import runtime as rt  # noqa: E402

mp = pytest.MonkeyPatch()
launched, _ = tla.host._get_wrapped_function()(mp)
cp = rt.cupy_module()
stream = types.SimpleNamespace(ptr=0, is_capturing=lambda: False, synchronize=lambda: None)
cp.cuda.get_current_stream = lambda: stream
cp.cuda.Device = lambda *a: tla._DEVICE
cp.random = types.SimpleNamespace(
    RandomState=lambda seed: types.SimpleNamespace(
        standard_normal=lambda shape, dtype: tla._fill(tla._aligned(shape, dtype), np.random.standard_normal(shape))),
    standard_normal=lambda shape, dtype: tla._fill(tla._aligned(shape, dtype), np.random.standard_normal(shape)))
tla.FakeArray.astype = lambda self, dt: tla._fill(tla._aligned(self.shape, dt), self.a.astype(dt))
tla.FakeArray.T = property(lambda self: tla.FakeArray(self.a.T))
tla.FakeArray.__mul__ = lambda self, v: tla.FakeArray(self.a * v)
cp.matmul = lambda a, b, out=None: launched.append(("cupy.matmul", ()))
mp.setattr(hb, "random_q4_0_device", lambda n, k, seed: QuantizedTensor(
    "Q4_0", (n, k), tla._aligned((n * k // 32 * 18,), np.uint8), read_only=True))
mp.setattr(hb, "gpu_seconds_per_call", lambda calls: (5e-6, "graph", None))
mp.setattr(hb, "gpu_available", lambda: True)
mp.setattr(hb, "device_info", lambda dev: {"name": "stand-in", "arch": "sm_90"})
mp.setattr(hb, "CALLS", 50)
mp.setattr(hb, "REPEATS", 2)
mp.setattr(hb, "cupy_module", lambda: cp)
launched.clear()
info, call = hb.measure(4096, 4096, 1, "float32")
print(info)
assert info["launches"] >= 1 and info["path"] == "matvec"
launched.clear()
hb.host_seconds_per_call(lambda: hb.recorded_launches(call), calls=3, repeats=1)
assert len(launched) == 4 * info["launches"], launched   # one warm-up and three calls, recorded and passed on
hb.main([])
mp.undo()
