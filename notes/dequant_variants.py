"""Dequantization kernels of one format built several ways, timed side by side
in one process (the device probes' A/B tables): rotated inputs beyond the L2
cache, CUDA-graph replays, ratio to the copy ceiling measured by the caller."""
import numpy as np

from gpu_timing import gpu_seconds_per_call

from cupyquant import FORMATS
from cupyquant.gpu.dequant import THREADS, tile_elems
from cupyquant.gpu.modules import compile_options, device_table
from cupyquant.testing import sane_blocks

N_VALUES = 14336 * 4096


def print_table(cp, ceil, names, variants, dtypes, sources=None, strict=True):
    """variants: name -> extra compiler options, or (options, thread blocks an
    SM of the grid) (session 10); sources: variant name -> {format: source}
    replacing the format's own source. Prints one row per format and
    dtype; with strict=False a variant that fails to build or run prints n/a."""
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    sources = sources or {}
    print("format   dtype    " + "  ".join(f"{v:>12s}" for v in variants), flush=True)
    for name in names:
        fmt = FORMATS[name]
        host = sane_blocks(fmt, N_VALUES // fmt.block_size, np.random.default_rng(0))
        k = max(1, -(-(200 << 20) // host.nbytes))
        ins = [cp.asarray(host) for _ in range(k)]
        tptr = device_table(fmt.name, fmt.tables).data.ptr if fmt.tables() is not None else 0
        n_tiles = -(-N_VALUES // tile_elems(fmt))
        for dt in dtypes:
            out = cp.empty(N_VALUES, dt)
            row = []
            for vname, opts in variants.items():
                per_sm = 32
                if len(opts) == 2 and isinstance(opts[1], int):
                    opts, per_sm = opts
                grid = min(n_tiles, sms * per_sm)
                try:
                    src = sources.get(vname, {}).get(name, fmt.source)
                    fn = cp.RawModule(code=src, options=compile_options(opts)).get_function(fmt.kernel_name(dt))
                    calls = [lambda i=i: fn((grid,), (THREADS,), (ins[i], out, np.int64(N_VALUES), np.uint64(tptr)))
                             for i in range(k)]
                    t, _, _ = gpu_seconds_per_call(calls, min_calls=20, replays=5)
                    row.append(f"{t*1e6:6.1f}us {(host.nbytes + out.nbytes)/t/ceil:4.2f}")
                except Exception as exc:
                    if strict:
                        raise
                    row.append(f"{'n/a ' + type(exc).__name__[:8]:>12s}")
            print(f"{name:8s} {dt:8s} " + "  ".join(row), flush=True)
        ins = out = None  # the next format's inputs reuse the memory
        cp.get_default_memory_pool().free_all_blocks()
