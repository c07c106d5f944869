"""Session 29 probes (H200). Run from the repository root:

    python3 notes/probe_s29.py restrict inplace

restrict: the ordinary dequantization kernels as shipped (src / dst without
  __restrict__, since the in-place schedule lets them overlap) against the
  same source with __restrict__ put back, 14336 x 4096 elements, inputs
  rotated past L2, graph replays (benchmarks/gpu_timing.py); fraction of a
  device-to-device copy, two rounds in alternating order.
inplace: one 64 MiB piece (the loader's largest) dequantized in place against
  the ordinary launch from a separate input, each after the same
  device-to-device copy that restores its input; per-call GPU time.
"""

import sys

import numpy as np

sys.path.insert(0, "benchmarks")
from gpu_timing import copy_bandwidth, gpu_seconds_per_call  # noqa: E402

import cupy as cp  # noqa: E402

from cupyquant import FORMATS  # noqa: E402
from cupyquant.gpu import inplace  # noqa: E402
from cupyquant.gpu.dequant import THREADS, tile_elems  # noqa: E402
from cupyquant.gpu.modules import compile_options, device_table  # noqa: E402
from cupyquant.testing import sane_blocks  # noqa: E402

SHIPPED_SIG = "const cq_u8* src, OUT* dst, cq_i64 n_elems,"
RESTRICT_SIG = "const cq_u8* __restrict__ src, OUT* __restrict__ dst, cq_i64 n_elems,"
SHIPPED_FN = "cq_dequant_tiles(const cq_u8* src, Out* dst,"
RESTRICT_FN = "cq_dequant_tiles(const cq_u8* __restrict__ src, Out* __restrict__ dst,"


def restrict_part():
    ceiling = copy_bandwidth(cp)
    print(f"copy {ceiling / 1e9:.0f} GB/s")
    n = 14336 * 4096
    for name in ("Q4_0", "Q8_0", "Q4_K", "Q6_K", "IQ2_XXS", "TQ1_0", "F16"):
        fmt = FORMATS[name]
        src = fmt.source
        assert SHIPPED_SIG in src and SHIPPED_FN in src
        variants = {"shipped": src, "restrict": src.replace(SHIPPED_SIG, RESTRICT_SIG).replace(SHIPPED_FN, RESTRICT_FN)}
        mods = {k: cp.RawModule(code=v, options=compile_options()) for k, v in variants.items()}
        host = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0))
        inputs = [cp.asarray(host)]
        while len(inputs) * host.nbytes < (200 << 20):
            inputs.append(inputs[0].copy())
        table = np.uint64(device_table(fmt.name, fmt.tables).data.ptr if fmt.tables() is not None else 0)
        for dtype in ("float16", "float32"):
            out = cp.empty(n, dtype=dtype)
            grid = min(-(-n // tile_elems(fmt)), 132 * 32)
            res = {k: [] for k in mods}
            for rnd in range(2):
                order = list(mods) if rnd == 0 else list(mods)[::-1]
                for k in order:
                    kern = mods[k].get_function(fmt.kernel_name(dtype))
                    calls = [lambda raw=raw, kern=kern: kern((grid,), (THREADS,), (
                        raw, out, np.int64(n), table, np.int32(0), np.uint64(0))) for raw in inputs]
                    t, _, _ = gpu_seconds_per_call(calls, min_calls=20, replays=5)
                    res[k].append((host.nbytes + out.nbytes) / t / ceiling)
            print(f"{name:8s} -> {dtype}: " + "  ".join(
                f"{k} {' / '.join(f'{v:.3f}' for v in vs)}" for k, vs in res.items()), flush=True)


def inplace_part():
    for name, dtype in (("Q4_0", "float16"), ("Q4_K", "float16"), ("Q6_K", "float16"), ("Q8_0", "float16"),
                        ("Q4_0", "float32")):
        fmt = FORMATS[name]
        n_blocks = (64 << 20) // fmt.type_size
        host = sane_blocks(fmt, n_blocks, np.random.default_rng(1))
        raw = cp.asarray(host)
        lay = inplace.layout(fmt, n_blocks, cp.dtype(dtype).itemsize)
        buf = cp.empty(lay.alloc_bytes, cp.uint8)
        out = cp.empty(n_blocks * fmt.block_size, dtype)
        area = inplace.SyncArea(inplace.tiles_of(fmt, n_blocks))
        dst_in = buf[lay.src_offset:lay.src_offset + raw.size]

        def ordinary():
            dst_in[...] = raw      # the same copy as below, for the same traffic
            fmt.dequant(raw, out=out)

        def in_place():
            dst_in[...] = raw
            inplace.launch_in_place(fmt, cp.dtype(dtype), buf.data.ptr, lay, 0, n_blocks, area)

        copy_only = [lambda: dst_in.__setitem__(Ellipsis, raw)]
        res = {}
        for rnd in range(2):
            for k, fn in ((("ordinary", ordinary), ("in-place", in_place)) if rnd == 0 else
                          (("in-place", in_place), ("ordinary", ordinary))):
                t, _, _ = gpu_seconds_per_call([fn], min_calls=8, replays=5)
                res.setdefault(k, []).append(t)
        tc, _, _ = gpu_seconds_per_call(copy_only, min_calls=8, replays=5)
        # (run 1 compared here right after the timed calls, whose last were the
        # ordinary ones: their input copy overwrites the top of buf's output,
        # so it printed False; the kernels' bits are checked by the tests)
        ordinary()
        in_place()
        ok = cp.array_equal(buf[:lay.out_bytes].view(dtype), out)
        print(f"{name} -> {dtype}, {raw.nbytes >> 20} MiB: copy alone {tc * 1e6:.0f} us; "
              + "; ".join(f"{k} {' / '.join(f'{(t - tc) * 1e6:.0f}' for t in ts)} us beyond it"
                          for k, ts in res.items())
              + f"; same bits: {bool(ok)}", flush=True)


if __name__ == "__main__":
    parts = {"restrict": restrict_part, "inplace": inplace_part}
    for arg in sys.argv[1:]:
        print(f"== {arg}", flush=True)
        parts[arg]()
