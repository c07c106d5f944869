"""Session 36 device probe (H200): the x_shared kernels without a queue on
their register-bound builds.

    python3 notes/probe_s35.py precompile:shipped,nobf16
    python3 notes/probe_s36.py regb:2                                  (run 1)
    python3 notes/probe_s36.py regb2:2                                 (run 2)
    python3 notes/probe_s36.py precompile:shipped,f32q
    python3 notes/probe_s36.py f32long:2 f32q:2     (run 3: never ran, no machine lent)

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
f32q[:rounds]  float32 x, M = 1-4, on the queue kernel ("_xsq", so far
  float16 only: MV_XS_QUEUE_KERNEL) with records up to 64 KiB where the
  tiles outnumber the thread blocks (MV_X_SHARED_MANY_TILES; today float32
  x at M = 3-4 reads its two float16 parts from global memory, prepared by
  the xprep kernel). Since session 32 a float32 value is two float16 parts,
  so float32 M = 4 has the records and B columns of float16 M = 8 (107.5
  us on 128256 x 4096 against float32 M = 4's 123.1). Session 19 found the
  queue slower for float32 x, with three bfloat16 parts. Kernels "_xsq"
  (float32 x and output) with registers for 5 (CQ_MV_MIN_BLOCKS), 2 and 3
  thread blocks an SM, in a module of the package's float32-output kernels
  plus these; settings: shipped, queue with the bounds, queue without.
f32q2[:rounds]  the same question on the package with session 36's staged
  float32 queue (commit to cherry-pick: see notes/device_s36_run4.sh):
  MV_XS_QUEUE_KERNEL with float32 (MV_F32_QUEUE_ROWS = (1, 4)) against
  float16 only, float32 x M = 1-4, the shipped module.
precompile / compile1  the modules compiled in subprocesses beforehand
  (CuPy's disk cache then serves the probe and the tests).

(Parts regb and regb2 ran as separate functions with their own copies of
the set-up; _regb_setup and probe_util.bench_with_spy gather it since, same
steps.)
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")

from probe_util import ab_rounds, bench_cell, bench_with_spy, knob_setting, run_parts  # noqa: E402


def _regb_setup():
    """(bench, launch spy, the knob on / off settings) on probe_s35's nobf16 module."""
    from probe_s35 import no_bf16_source

    import cupyquant.qmatmul as mm
    from cupyquant.gpu.modules import get_function
    bench, launched = bench_with_spy(mm)
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
    import cupyquant.qmatmul as mm
    bench, launched = bench_with_spy(mm)
    g64 = (16, 64, 2)
    settings = {"ship": knob_setting(mm, MV_GEOMETRY=None, MV_BLOCKS_PER_SM=0.5),
                "g64": knob_setting(mm, MV_GEOMETRY=g64, MV_BLOCKS_PER_SM=0.5),
                "g64b1": knob_setting(mm, MV_GEOMETRY=g64, MV_BLOCKS_PER_SM=1.0),
                "g64b2": knob_setting(mm, MV_GEOMETRY=g64, MV_BLOCKS_PER_SM=2.0),
                "b2": knob_setting(mm, MV_GEOMETRY=None, MV_BLOCKS_PER_SM=2.0)}
    ab_rounds([(4096, 14336), (4096, 11008), (5120, 13824), (2048, 8192)], [1], settings,
              bench_cell(bench, launched, "float32"), rounds)
    settings["ship"]()


F32Q_BOUNDS = (2, 3)


def f32q_source() -> str:
    import cupyquant.matmul_kernels as mk
    src = mk.matmul_source()
    for line in ("CQ_MATMUL_FOR_OUT(f16, cq_f16)\n", "CQ_MATMUL_FOR_OUT(bf16, cq_bf16)\n"):
        assert src.count(line) == 1, line
        src = src.replace(line, "")
    for suffix, minb in [("_xsq", "CQ_MV_MIN_BLOCKS")] + [(f"_xsqb{b}", b) for b in F32Q_BOUNDS]:
        src += (f"CQ_MV_TC_KERNEL_XQ(f32, true, 1, f32, float, 16, 64, 2, true, true, CQ_MV_XS_COPY_WARPS, "
                f"{suffix}, {minb}, false, false, false)\n")
    return "// probe_s36 f32q\n" + src


def part_f32q(rounds="2"):
    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    from cupyquant.gpu.modules import get_function
    bench, launched = bench_with_spy(mm)
    src = f32q_source()
    shipped_function, shipped_bounds = mm._function, mk.mv_reg_bounds

    def bounds(x_dtype, queue, one_row=False):  # the probe module's float32 queue builds
        x = getattr(x_dtype, "name", str(x_dtype))
        return F32Q_BOUNDS if queue and not one_row and x == "float32" else shipped_bounds(x_dtype, queue, one_row)

    def queue_setting(on, reg_bound):
        def apply():
            mm._function = (lambda name: get_function("matmul:s36:f32q", src, name)) if on else shipped_function
            mk.mv_reg_bounds = bounds if on else shipped_bounds
            # MV_GEOMETRY: float32 records over 32 KiB would take (16, 32, 3), which has no queue kernel
            knob_setting(mm, MV_GEOMETRY=(16, 64, 2) if on else None,
                         MV_XS_QUEUE_KERNEL=("float16", "float32") if on else ("float16",),
                         MV_X_SHARED_MANY_TILES={"float16": 64 << 10, "float32": 64 << 10} if on
                         else {"float16": 64 << 10}, MV_XS_QUEUE_REG_BOUND=reg_bound)()
        return apply
    settings = {"ship": queue_setting(False, True), "q": queue_setting(True, True), "qnb": queue_setting(True, False)}
    ab_rounds([(14336, 4096), (128256, 4096), (11008, 4096)], [1, 2, 3, 4], settings,
              bench_cell(bench, launched, "float32"), rounds)
    settings["ship"]()


def part_f32q2(rounds="2"):
    import cupyquant.qmatmul as mm
    bench, launched = bench_with_spy(mm)
    settings = {"queue": knob_setting(mm, MV_XS_QUEUE_KERNEL=("float16", "float32"), MV_F32_QUEUE_ROWS=(1, 4)),
                "off": knob_setting(mm, MV_XS_QUEUE_KERNEL=("float16",))}
    ab_rounds([(14336, 4096), (128256, 4096), (11008, 4096), (4096, 4096)], [1, 2, 3, 4], settings,
              bench_cell(bench, launched, "float32"), rounds)
    settings["queue"]()


def part_compile1(name):
    import time

    import cupy as cp

    import cupyquant.matmul_kernels as mk
    from cupyquant.gpu.modules import compile_options
    t = time.time()
    src = {"shipped": mk.matmul_source, "f32q": f32q_source}[name]()
    cp.RawModule(code=src, options=compile_options()).compile()
    print(f"compiled {name} in {time.time() - t:.0f} s", flush=True)


def part_precompile(*names):
    import subprocess
    procs = [subprocess.Popen([sys.executable, __file__, f"compile1:{n}"]) for n in names]
    print("precompile rc", [p.wait() for p in procs], flush=True)


if __name__ == "__main__":
    run_parts(globals(), sys.argv[1:])
