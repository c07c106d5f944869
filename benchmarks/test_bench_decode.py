"""NumPy decoder throughput per format against gguf-py on the same 16 Mi-element input.

    pytest --benchmark-only -k bench_decode --benchmark-group-by=param:name
"""

import numpy as np
import pytest
from gguf import quants

from cupyquant import FORMATS

N_ELEMS = 16 * 1024 * 1024
_inputs = {}


def _input(fmt):
    raw = _inputs.get(fmt.name)
    if raw is None:
        rng = np.random.default_rng(0)
        n_blocks = N_ELEMS // fmt.block_size
        # finite, moderate scales so neither side meets NaN slow paths
        from cupyquant.testing import sane_blocks
        raw = sane_blocks(fmt, n_blocks, rng)
        _inputs.clear()
        _inputs[fmt.name] = raw
    return raw


@pytest.mark.parametrize("impl", ["cupyquant", "gguf-py"])
@pytest.mark.parametrize("name", list(FORMATS))
def test_bench_decode(benchmark, name, impl):
    fmt = FORMATS[name]
    raw = _input(fmt)
    if impl == "cupyquant":
        fn = lambda: fmt.decode(raw)
    else:
        # rows of 4096 values, as in a real tensor (gguf-py is much slower
        # when handed one block per row)
        blocks = raw.reshape(-1, 4096 // fmt.block_size * fmt.type_size)
        fn = lambda: quants.dequantize(blocks, fmt.qtype)
    benchmark.group = f"decode {name}"
    benchmark.extra_info.update(format=name, impl=impl, elements=N_ELEMS)
    with np.errstate(all="ignore"):
        benchmark.pedantic(fn, rounds=3, warmup_rounds=1 if impl == "cupyquant" else 0)
    benchmark.extra_info["melem_per_s"] = N_ELEMS / benchmark.stats.stats.median / 1e6
