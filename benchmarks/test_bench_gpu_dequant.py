"""GPU dequantization of a 14336 x 4096 tensor of every format to float16 and
float32: bytes moved (quantized input + output) per second and the ratio to a
device-to-device copy measured in the same run.

    pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only
"""

import numpy as np
import pytest

from cupyquant import FORMATS
from cupyquant.testing import sane_blocks
from gpu_timing import copy_bandwidth, event_time_s, require_gpu

ROWS, COLS = 14336, 4096
L2_ROTATE_BYTES = 200 << 20  # rotate inputs totalling more than the L2 cache


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@pytest.mark.parametrize("name", list(FORMATS))
def test_bench_gpu_dequant(benchmark, name, dtype):
    cp = require_gpu()
    fmt = FORMATS[name]
    n = ROWS * COLS
    host = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0))
    n_inputs = max(1, -(-L2_ROTATE_BYTES // host.nbytes))
    inputs = [cp.asarray(host)]
    for _ in range(n_inputs - 1):
        inputs.append(inputs[0].copy())
    out = cp.empty(n, dtype=dtype)
    state = {"i": 0}

    def one():
        state["i"] = (state["i"] + 1) % n_inputs
        fmt.dequant(inputs[state["i"]], out=out)

    ceiling = copy_bandwidth(cp)
    t = event_time_s(cp, one, reps=30)
    moved = host.nbytes + out.nbytes
    benchmark.group = f"gpu dequant -> {dtype}"
    benchmark.extra_info.update(
        format=name, dtype=dtype, elements=n, bytes_moved=moved, kernel_us=t * 1e6,
        gbps=moved / t / 1e9, copy_gbps=ceiling / 1e9, ratio_to_copy=moved / t / ceiling)

    def rounds():
        for _ in range(10):
            one()
        cp.cuda.Device().synchronize()

    benchmark.pedantic(rounds, rounds=5, warmup_rounds=1)
    del inputs, out
    cp.get_default_memory_pool().free_all_blocks()
