"""GPU dequantization of a 14336 x 4096 tensor of every format to float16 and
float32: bytes moved (quantized input + output) per second and the ratio to a
device-to-device copy measured in the same run.

    pytest benchmarks/test_bench_gpu_dequant.py --benchmark-only

The figure is GPU time per call from replays of a CUDA graph holding many
calls that rotate among inputs totalling more than the L2 cache (so the cache
cannot serve them), timed with device events: Python's launch overhead is not
in it. The pytest-benchmark rounds time the same graph from the host.
"""

import numpy as np
import pytest

from cupyquant import FORMATS
from cupyquant.testing import sane_blocks
from gpu_timing import copy_bandwidth, gpu_seconds_per_call, require_gpu

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
    calls = [lambda raw=raw: fmt.dequant(raw, out=out) for raw in inputs]

    ceiling = copy_bandwidth(cp)
    t, method, run = gpu_seconds_per_call(calls, min_calls=20, replays=7)
    moved = host.nbytes + out.nbytes
    benchmark.group = f"gpu dequant -> {dtype}"
    benchmark.extra_info.update(
        format=name, dtype=dtype, elements=n, bytes_moved=moved, kernel_us=t * 1e6,
        gbps=moved / t / 1e9, copy_gbps=ceiling / 1e9, ratio_to_copy=moved / t / ceiling,
        timing=method)

    def rounds():
        run()
        cp.cuda.Device().synchronize()

    benchmark.pedantic(rounds, rounds=5, warmup_rounds=1)
    del inputs, out, calls
    cp.get_default_memory_pool().free_all_blocks()
