"""Session 32 device probes (H200). Run from the repository root:

    python3 notes/probe_s32.py ksplit:2        (run 2)
    python3 notes/probe_s32.py f32occ:2        (run 5)
    python3 notes/probe_s32.py f32tiles:2      (run 8)

ksplit[:rounds] K split in 2 or 3 forced onto the matrix-vector plans that
  _mv_splits leaves at one split (MV_BLOCKS_PER_SM = 0.5: capacity of half
  the resident thread blocks), against the shipped plan, float16 x, with the
  benchmark's timing. 14336 x 4096: 896 tiles on 660 queue thread blocks,
  a second round a third full; split in 2, 1792 half tiles on 2 x 330.
  4096 x 14336: 256 tiles, each thread block fills all 14336 activations'
  records (1.65 us, session 31 run 1); split, a block fills half or a third.
  First a check: each forced plan's output against the shipped one's.
f32occ[:rounds] float32 x (two float16 parts a row since run 3) on the
  x_shared kernels with the plan's records counted 1.5x ("occ1.5": the
  thread blocks an SM of the former three bfloat16 parts, so fewer thread
  blocks fill the records) or 2x, against the shipped plan; M = 1, 2, 4.
f32tiles[:rounds] MV_X_SHARED_F32_TILES_PER_BLOCK 2 (float32 x_shared grids
  with a queue: whole thread blocks an SM leaving each 2 tiles or more)
  against 0 (every resident slot), float32 x, M = 1, 2. That knob was a
  working-tree change of run 8, not kept (mixed result): in _mv_plan's
  x_shared branch, after grid_x = max(1, min(tiles, resident // splits)),
      if f32 and MV_X_SHARED_F32_TILES_PER_BLOCK and grid_x < tiles:
          per_sm = max(1, tiles * splits // (MV_X_SHARED_F32_TILES_PER_BLOCK * sms))
          grid_x = max(1, min(grid_x, per_sm * sms // splits))
  (and the knob in _matvec_tc's plan key). Without it the part measures
  nothing.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")

from probe_util import ab_rounds, bench_cell, launch_spy  # noqa: E402


def forced_splits(mm, n):
    """Apply: _mv_splits returns n splits (None: the shipped function)."""
    real = mm.__dict__.setdefault("_probe_real_mv_splits", mm._mv_splits)

    def forced(nb, tiles, capacity, kb):
        n_st = -(-nb // kb)
        sps = -(-n_st // min(n, n_st))
        return -(-n_st // sps), sps

    def apply():
        mm._mv_splits = real if n is None else forced
        mm._mv_plans.clear()
    return apply


SHAPES = [(14336, 4096), (4096, 14336), (4096, 4096), (128256, 4096)]


def part_ksplit(rounds="2"):
    import cupy as cp
    from test_bench_matmul import get_bench, random_q4_0_device

    import cupyquant.qmatmul as mm
    from cupyquant import matmul
    settings = {"shipped": forced_splits(mm, None), "s2": forced_splits(mm, 2), "s3": forced_splits(mm, 3)}
    launched = launch_spy(mm)
    for n, k in SHAPES[:2] + [(14336 - 48, 4096)]:
        w = random_q4_0_device(n, k, seed=3)
        for m in (1, 4):
            x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(cp.float16)
            ys = {}
            for name, apply in settings.items():
                apply()
                out = cp.full((m, n), cp.nan, dtype=cp.float32)
                matmul(x, w, out=out)
                ys[name] = (out, launched["k"])
            ref = ys["shipped"][0]
            scale = float(cp.abs(ref).max())
            print(f"check {n}x{k} M={m}: " + " | ".join(
                f"{name} {k_[0].split('_n1_')[-1]} {k_[1]} maxdiff/max {float(cp.abs(y - ref).max()) / scale:.2e}"
                for name, (y, k_) in ys.items()), flush=True)
    settings["shipped"]()
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    cell = bench_cell(bench, launched)
    ab_rounds(SHAPES, [1], settings, cell, rounds)
    ab_rounds(SHAPES[:2], [4, 8], settings, cell, 1)
    settings["shipped"]()


def records_factor(mm, factor):
    """Apply: the plan counts float32 x_shared records ``factor`` x (the
    kernels use what they need; the rest of the dynamic shared memory only
    keeps thread blocks off the SM)."""
    import cupyquant.matmul_kernels as mk
    real = mm.__dict__.setdefault("_probe_real_xs_bytes", mk.mv_x_shared_bytes)
    f32 = {"f": False}
    real_plan = mm.__dict__.setdefault("_probe_real_mv_plan", mm._mv_plan)

    def plan(cp, x_dtype, *a, **kw):
        f32["f"] = x_dtype == cp.float32
        try:
            return real_plan(cp, x_dtype, *a, **kw)
        finally:
            f32["f"] = False

    def xs_bytes(columns, blocks):
        n = real(columns, blocks)
        return int(n * factor) // 16 * 16 if f32["f"] else n

    def apply():
        mk.mv_x_shared_bytes = xs_bytes
        mm._mv_plan = plan
        mm._mv_plans.clear()
    return apply


def part_f32occ(rounds="2"):
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {"shipped": records_factor(mm, 1.0), "occ1.5": records_factor(mm, 1.5),
                "occ2": records_factor(mm, 2.0)}
    ab_rounds(SHAPES, [1, 2, 4], settings, bench_cell(bench, launched, "float32"), rounds)
    settings["shipped"]()


def part_f32tiles(rounds="2"):
    from probe_util import knob_setting
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    settings = {"tiles2": knob_setting(mm, MV_X_SHARED_F32_TILES_PER_BLOCK=2),
                "off": knob_setting(mm, MV_X_SHARED_F32_TILES_PER_BLOCK=0)}
    shapes = [(11008, 4096), (14336, 4096), (18432, 4096), (28672, 4096), (128256, 4096), (4096, 4096)]
    ab_rounds(shapes, [1, 2], settings, bench_cell(bench, launched, "float32"), rounds)
    settings["tiles2"]()


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        name, _, val = arg.partition(":")
        print(f"=== {arg}", flush=True)
        globals()[f"part_{name}"](*([val] if val else []))
