"""Session 36 device probe (H200): the x_shared kernels without a queue on
their register-bound builds.

    python3 notes/probe_s35.py precompile:shipped,nobf16
    python3 notes/probe_s36.py regb:2                                  (run 1)
    python3 notes/probe_s36.py regb2:2                                 (run 2)
    python3 notes/probe_s36.py f32long:2                               (run 3)

regb[:rounds]  the package's MV_XS_UNQUEUED_REG_BOUND on and off: "_xs" /
  "_xs1" grids that have 2 or 3 thread blocks an SM, because the grid is
  small (4096 x 4096: 256 tiles; 6144 x 4096: 384) or because the records
  allow no more (float32 x, M = 2: 32 KiB at K = 4096). Float16 x M = 1, 2,
  4 and float32 x M = 1, 2 (the package's kernels in probe_s35's "nobf16"
  module: compiled without the bfloat16-output kernels). Ran on commit
  d821df7, whose float16 "_xs" / "_xs1" builds with bounds were removed
  after it (they lost); since then the knob moves only float32 x.
regb2[:rounds]  the same knob on the kept builds: float32 x M = 2 (and M = 1
  and 3, which it must leave alone) on shapes whose records leave room for
  3 thread blocks an SM and whose grid fills them.
f32long[:rounds]  float32 x, M = 1, long K (4096 x 14336 takes 19.3 us
  there against 12.5 with float16 x): the shipped plan ((16, 32, 3) x_shared,
  57 KiB of records, one split) against (16, 64, 2) (MV_GEOMETRY) and K
  splits (MV_BLOCKS_PER_SM 1 / 2: records of a split only), package knobs
  on the shipped module.

(Parts regb and regb2 ran as separate functions with their own copies of
the set-up; _regb_setup gathers it since, same steps.)
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")

from probe_util import ab_rounds, bench_cell, knob_setting, launch_spy, run_parts  # noqa: E402


def _regb_setup():
    """(bench, launch spy, the knob on / off settings) on probe_s35's nobf16 module."""
    from probe_s35 import no_bf16_source
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    from cupyquant.gpu.modules import get_function
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    src = no_bf16_source()
    mm._function = lambda name: get_function("matmul:s35:nobf16", src, name)
    settings = {"on": knob_setting(mm, MV_XS_UNQUEUED_REG_BOUND=True),
                "off": knob_setting(mm, MV_XS_UNQUEUED_REG_BOUND=False)}
    return bench, launched, settings


def part_regb(rounds="2"):
    bench, launched, settings = _regb_setup()
    ab_rounds([(4096, 4096), (6144, 4096), (3072, 4096)], [1, 2, 4], settings,
              bench_cell(bench, launched, "float16"), rounds)
    ab_rounds([(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)], [1, 2], settings,
              bench_cell(bench, launched, "float32"), rounds)
    settings["on"]()


def part_regb2(rounds="2"):
    bench, launched, settings = _regb_setup()
    ab_rounds([(14336, 4096), (11008, 4096), (18944, 3584), (128256, 4096)], [2], settings,
              bench_cell(bench, launched, "float32"), rounds)
    ab_rounds([(14336, 4096)], [1, 3], settings, bench_cell(bench, launched, "float32"), 1)
    settings["on"]()


def part_f32long(rounds="2"):
    from test_bench_matmul import get_bench

    import cupyquant.qmatmul as mm
    bench = get_bench()
    print(f"copy {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    launched = launch_spy(mm)
    g64 = (16, 64, 2)
    settings = {"ship": knob_setting(mm, MV_GEOMETRY=None, MV_BLOCKS_PER_SM=0.5),
                "g64": knob_setting(mm, MV_GEOMETRY=g64, MV_BLOCKS_PER_SM=0.5),
                "g64b1": knob_setting(mm, MV_GEOMETRY=g64, MV_BLOCKS_PER_SM=1.0),
                "g64b2": knob_setting(mm, MV_GEOMETRY=g64, MV_BLOCKS_PER_SM=2.0),
                "b2": knob_setting(mm, MV_GEOMETRY=None, MV_BLOCKS_PER_SM=2.0)}
    ab_rounds([(4096, 14336), (4096, 11008), (5120, 13824), (2048, 8192)], [1], settings,
              bench_cell(bench, launched, "float32"), rounds)
    settings["ship"]()


if __name__ == "__main__":
    run_parts(globals(), sys.argv[1:])
