"""Session 30 probes (H200): the bulk-copy (TMA) matrix-vector kernels of
notes/probe_s30_mv_bulk.hip (written as cupyquant/hip/q4_0_matvec_bulk.hip for
runs 1-2; slower than the shipped kernels on every shape, so not wired in).
Run from the repository root:

    python3 notes/probe_s30.py check time

check: every compiled kernel on shapes with N not a multiple of 16 and K
  chunks that end part-way, outputs poisoned first: relative error against
  float64 from the dequantized weights, the rows past N left alone.
time: M = 1, float16 x, the benchmark's shapes and rotated weight buffers,
  graph replays with PDL: the shipped matmul against each kernel x flags.
"""

import sys

import numpy as np

sys.path.insert(0, "benchmarks")
from gpu_timing import gpu_seconds_per_call  # noqa: E402
from test_bench_matmul import get_bench, random_q4_0_device  # noqa: E402

import cupy as cp  # noqa: E402

import cupyquant.qmatmul as mm  # noqa: E402
from cupyquant import matmul_kernels as mk  # noqa: E402
from cupyquant.gpu.launch import function_handle, launch  # noqa: E402
from cupyquant.gpu.modules import compile_options, get_function  # noqa: E402

# The kernels' source is kept beside this probe (negative result: not shipped).
with open(__file__.replace("probe_s30.py", "probe_s30_mv_bulk.hip")) as _f:
    SRC = mk.matmul_sm90_source() + _f.read()
KERNELS = [(4, 32, 1), (4, 32, 2), (4, 16, 2), (4, 16, 3), (4, 16, 4), (8, 16, 1), (8, 16, 2),
           (8, 8, 2), (8, 8, 3), (2, 32, 2), (2, 32, 3)]
TM_KERNELS = [(8, 8, 2), (8, 8, 3), (8, 8, 4), (4, 8, 4), (4, 16, 2), (8, 16, 1), (8, 16, 2), (4, 32, 1),
              (4, 32, 2)]
SMS = cp.cuda.Device().attributes["MultiProcessorCount"]
_maps = {}


def wmap(w, n, k, kb):
    """A 2-D tensor map of the weights as 8-byte elements: boxes of 16 rows x kb blocks."""
    from cupyquant.gpu import tensor_map as tm
    key = (w.data.data.ptr, n, k, kb)
    if key not in _maps:
        rb = k // 32 * 18
        _maps[key] = tm._rows_tiled(4, 8, w.data.data.ptr, n, rb // 8, rb // 8, 16, kb * 18 // 8,
                                    tm.SWIZZLE_NONE, 256)
    return _maps[key]


def fn(name):
    return get_function("probe:bulk", SRC, name, compile_options(mk.SM90_OPTIONS))


def smem_bytes(nw, kb, d, nb):
    sr = kb * 18 + (16 if kb % 16 == 0 else 0)
    return -(-(nw * d * 8) // 128) * 128 + 2 * nw * 64 + nb * 64 + nw * d * 16 * sr


def plan(nw, kb, d, n, k, out="f16", waves=None, tm=False):
    nb = k // 32
    name = f"cq_q4_0_mv_bulk{'tm' if tm else ''}_{out}_w{nw}_k{kb}_d{d}"
    smem = smem_bytes(nw, kb, d, nb) if not tm else (
        -(-(nw * d * 8) // 128) * 128 + 2 * nw * 64 + nb * 64 + 128 + nw * d * 16 * kb * 18)
    kern = mm._kernel_with_smem(cp, name, smem, function=fn)
    occ = cp.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(function_handle(kern), nw * 32, smem)
    tiles = -(-n // 16)
    grid = min(tiles, max(1, occ) * SMS) if waves is None else tiles
    return kern, grid, smem, occ, tm, kb


def run(p, w, x, y, n, k, flags):
    kern, grid, smem, _, tm, kb = p
    threads = int(kern.name.split("_w")[1].split("_")[0]) * 32
    args = (w.data, x, y, np.int32(n), np.int32(k // 32), np.int32(flags))
    if tm:
        args = (wmap(w, n, k, kb),) + args
    launch(kern, (grid,), (threads,), args, shared_mem=smem, pdl=True)


def part_check():
    shapes = [(1000, 4096), (333, 768), (17, 256), (130, 2816), (4096, 14336), (40, 8192)]
    for n, k in shapes:
        w = random_q4_0_device(n, k, seed=n + k)
        wf = w.dequant(dtype="float32").astype(cp.float64)
        x = (cp.random.standard_normal(k, dtype=cp.float32)).astype(cp.float16)
        ref = wf @ x.astype(cp.float64)
        cells = []
        for out, nw, kb, d in [("f16",) + g for g in TM_KERNELS] + [("f32", 8, 8, 3)]:
            dt = cp.float32 if out == "f32" else cp.float16
            y = cp.full(n + 16, cp.nan, dtype=dt)
            p = plan(nw, kb, d, n, k, out, tm=True)
            for flags in (0, 1 | 2, 4):
                y[:] = cp.nan
                run(p, w, x, y, n, k, flags)
                cp.cuda.runtime.deviceSynchronize()
                got = y[:n].astype(cp.float64)
                err = float(cp.linalg.norm(got - ref) / cp.linalg.norm(ref))
                tail_ok = bool(cp.isnan(y[n:]).all())
                ok = err < (2e-6 if out == "f32" else 1e-3) and tail_ok and not bool(cp.isnan(got).any())
                cells.append(f"{out}w{nw}k{kb}d{d}/{flags} {err:.1e}{'' if ok else ' FAIL'}")
        print(f"{n}x{k}: " + " | ".join(cells), flush=True)


def part_time(rounds="1"):
    bench = get_bench()
    copy = bench.ceiling()
    print(f"copy {copy / 1e9:.0f} GB/s, {SMS} SMs", flush=True)
    for rnd in range(int(rounds)):
        for shape in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]:
            n, k = shape
            r, _ = bench.measure(shape, 1, "float16", None)
            q, _ = bench.weights(shape)
            nbytes = q[0].nbytes
            print(f"r{rnd} {n}x{k} shipped {r['time_us']:.2f} us ({r['frac_copy'] * 100:.1f}%)", flush=True)
            x = cp.random.standard_normal(k, dtype=cp.float32).astype(cp.float16)
            y = cp.empty(n, dtype=cp.float16)
            for nw, kb, d, tm in [(8, 16, 1, False), (4, 32, 1, False)] + [g + (True,) for g in TM_KERNELS]:
                p = plan(nw, kb, d, n, k, tm=tm)
                cells = []
                for flags in (0, 1, 4, 2 | 4):
                    calls = [lambda w=w, f=flags: run(p, w, x, y, n, k, f) for w in q]
                    t, how, _ = gpu_seconds_per_call(calls)
                    cells.append(f"f{flags} {t * 1e6:.2f} ({nbytes / t / copy * 100:.1f}%)")
                print(f"  {'tm ' if tm else ''}w{nw} k{kb} d{d} grid {p[1]} occ {p[3]} smem {p[2] >> 10}K: " + " | ".join(cells),
                      flush=True)


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        name, _, val = arg.partition(":")
        print(f"=== {arg}", flush=True)
        globals()[f"part_{name}"](*([val] if val else []))
