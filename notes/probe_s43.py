"""Session 43 device probe (written for the next session with an H100: not run yet).

    python3 notes/probe_s43.py m1h100:2

m1h100[:rounds]  M = 1 on the three shapes where the H100 misses the issue's
  bandwidth goals (session 43 run 1: 4096^2 58.2% of the copy against 60%,
  14336 x 4096 79.3% and 4096 x 14336 77.4% against 85%), float16 and float32
  x: the shipped plan (tuned on the H200) against one knob changed at a time:
  K split at more thread blocks an SM (MV_BLOCKS_PER_SM 1 / 2), no one-row
  kernel, no occupancy cap, no read-only early copy, x not in shared memory,
  a forced geometry. (On tests/test_launch_args.py's stand-in, 132 SMs, these
  change the kernel where the name says; the K splits show in the grid.)
  Each cell: the matmul benchmark's time and the kernel and grid it launched;
  rounds in alternating order.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")


def part_m1h100(rounds: str = "2") -> None:
    from probe_util import ab_rounds, bench_cell, bench_with_spy, knob_setting

    import cupyquant.qmatmul as mm
    bench, launched = bench_with_spy(mm)
    settings = {
        "ship": knob_setting(mm),
        "bps1": knob_setting(mm, MV_BLOCKS_PER_SM=1.0),
        "bps2": knob_setting(mm, MV_BLOCKS_PER_SM=2.0),
        "no1row": knob_setting(mm, MV_ONE_ROW_KERNEL=False),
        "nocap": knob_setting(mm, MV_CAP_OCCUPANCY=False),
        "noRO": knob_setting(mm, MV_READ_ONLY_EARLY=False),
        "noXS": knob_setting(mm, MV_X_SHARED_MAX={}, MV_X_SHARED_ANY=0),
        "g32x3": knob_setting(mm, MV_GEOMETRY=(16, 32, 3)),   # float16 x: no one-row build there (FAILED)
    }
    defaults = {name: getattr(mod, name) for mod, name in
                ((mm.mv_plan, "MV_BLOCKS_PER_SM"), (mm.mv_plan, "MV_ONE_ROW_KERNEL"), (mm.matvec, "MV_CAP_OCCUPANCY"),
                 (mm.matvec, "MV_READ_ONLY_EARLY"), (mm.mv_plan, "MV_GEOMETRY"), (mm.mv_plan, "MV_X_SHARED_MAX"),
                 (mm.mv_plan, "MV_X_SHARED_ANY"))}

    def reset(apply):
        def both():
            knob_setting(mm, **defaults)()   # each setting changes one knob from the shipped values
            apply()
        return both

    settings = {name: reset(apply) for name, apply in settings.items()}
    for x_dtype in ("float16", "float32"):
        print(f"--- x {x_dtype}", flush=True)
        ab_rounds([(4096, 4096), (14336, 4096), (4096, 14336)], [1], settings,
                  bench_cell(bench, launched, x_dtype), rounds)
    knob_setting(mm, **defaults)()


if __name__ == "__main__":
    from probe_util import run_parts
    run_parts(globals(), sys.argv[1:])
