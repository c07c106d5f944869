"""Host time of cupyquant.matmul's GPU path on the stand-in CuPy of
tests/test_launch_args.py (no GPU): what our Python costs a call, apart
from CuPy's own allocation and launch."""
import cProfile
import pstats
import sys
import timeit
import types

import numpy as np
import pytest

sys.path.insert(0, "tests")
import test_launch_args as tla  # noqa: E402
from cupyquant import QuantizedTensor  # noqa: E402
from cupyquant.qmatmul import dispatch  # noqa: E402


class FastArray(tla.FakeArray):
    """FakeArray with plain attributes: about what CuPy's Cython attributes
    cost, so that the time left is mostly the package's own Python."""
    shape = dtype = ndim = size = flags = data = device = None

    def __init__(self, a):
        self.a, self.shape, self.dtype, self.ndim, self.size, self.flags = a, a.shape, a.dtype, a.ndim, a.size, a.flags
        self.data = types.SimpleNamespace(ptr=a.__array_interface__["data"][0])
        self.device = tla._DEVICE

    def _wrap(self, a):
        return FastArray(a)


def fast(arr):
    return FastArray(arr.a)


def main():
    mp = pytest.MonkeyPatch()
    launched, setup = tla.host._get_wrapped_function()(mp)
    cp = tla.rt.cupy_module()
    cp.ndarray = tla.FakeArray
    real_empty = cp.empty
    cp.empty = lambda shape, dtype=np.float32: fast(real_empty(shape, dtype))
    cases = []
    for m, n, k, xd in ((1, 4096, 4096, "float16"), (1, 4096, 4096, "float32"), (8, 14336, 4096, "float16"),
                        (512, 4096, 4096, "float16")):
        w = QuantizedTensor("Q4_0", (n, k), fast(tla._aligned((n * k // 32 * 18,), np.uint8)), read_only=True)
        x = fast(tla._aligned((m, k), xd))
        out = fast(tla._aligned((m, n), xd))
        cases.append((f"M={m} {n}x{k} {xd} out=", x, w, out))
        cases.append((f"M={m} {n}x{k} {xd}", x, w, None))
    for name, x, w, out in cases:
        f = (lambda: dispatch.matmul(x, w, out=out)) if out is not None else (lambda: dispatch.matmul(x, w))
        f()
        launched.clear()
        n = 20000
        t = min(timeit.repeat(f, number=n, repeat=3)) / n
        launched.clear()
        f()
        print(f"{name:40s} {t * 1e6:7.2f} us a call, {len(launched)} launches")
    if "--profile" in sys.argv:
        at = sys.argv.index("--profile") + 1   # --profile [case number]
        name, x, w, out = cases[int(sys.argv[at]) if len(sys.argv) > at else 0]
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(20000):
            dispatch.matmul(x, w, out=out)
        pr.disable()
        pstats.Stats(pr).sort_stats("tottime").print_stats(25)
    mp.undo()


main()
