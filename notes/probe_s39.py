"""Session 39 device probe (H200): where float32 x loses at M = 512.

    python3 notes/probe_s39.py conv:3                                  (run 3)
    python3 notes/probe_s39.py rows                                    (run 4)
    python3 notes/probe_s39.py f32geo:2 f32m1q:2 (run 5: never ran, no device time left)

conv[:rounds]  M = 512 on the benchmark's four shapes: the automatic path
  with float16 x and with float32 x (the wgmma kernel after the F32 ->
  float16 conversion, qmatmul._as_f16), and the conversion alone, each
  timed as the benchmark times (graph of calls over enough weight buffers,
  median of replays), rounds in turn. Question: is the float32 x overhead
  the conversion's own time (its bytes at the copy bandwidth), or more?
rows  the automatic path's time from one column tile to two: float32 x
  M = 1, 4-8 and float16 x M = 1, 8, 9, 12, 16 on the benchmark's four
  shapes (float32 M = 5-8 and float16 M = 9-16 take two column tiles,
  x read from global memory, no x_shared records: float32 M = 8 took
  200 us on 128256 x 4096 in run 2 against float16 M = 8's 106), each as
  a multiple of its M = 1.
f32geo[:rounds]  float32 x, M = 1, 4096 rows (256 tiles: one wave) at K
  whose records are 36-60 KiB: the shipped (16, 32, 3) against (16, 64,
  2) (MV_GEOMETRY). Run 1 (f32long) had (16, 64, 2) 11% faster at K =
  14336 (56 KiB) and 4% slower at 11008 (43 KiB); what decides?
f32m1q[:rounds]  float32 x, M = 1, more tiles than resident thread blocks
  and records over MV_X_SHARED_ANY (long K): MV_F32_QUEUE_ROWS (1, 4) (the
  queue kernel with x_shared records, 27.8 us on 5120 x 13824 in run 1)
  against the shipped (2, 4), which there reads x from global memory (not
  measured since float32 x got x_shared records). Where (1, 4) wins, M = 1
  wants the queue where its records exceed MV_X_SHARED_ANY.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")


def part_conv(rounds: str = "3") -> None:
    from gpu_timing import gpu_seconds_per_call
    from test_bench_matmul import SHAPES, get_bench

    import cupyquant.qmatmul as mm
    from cupyquant.gpu.platform import cupy_module
    cp = cupy_module()
    bench = get_bench()
    ceiling = bench.ceiling()
    print(f"copy ceiling {ceiling / 1e9:.0f} GB/s", flush=True)
    for shape in SHAPES:
        k = shape[1]
        x32 = cp.random.standard_normal((512, k), dtype=cp.float32)
        conv_bytes = x32.size * 6
        for r in range(int(rounds)):
            cells = []
            for x_dtype in ("float16", "float32"):
                info, _ = bench.measure(shape, 512, x_dtype, None)
                cells.append(f"{x_dtype} {info['time_us']:7.2f} ({info['path']}, cuBLAS {info['cublas_f16_us']:.2f})")
            t, _, _ = gpu_seconds_per_call([lambda: mm._as_f16(cp, x32)])
            cells.append(f"conversion alone {t * 1e6:6.2f} us ({conv_bytes / t / ceiling:.0%} of copy)")
            print(f"{shape[0]}x{k} r{r}: " + " | ".join(cells), flush=True)


def part_rows() -> None:
    from test_bench_matmul import SHAPES, get_bench
    bench = get_bench()
    print(f"copy ceiling {bench.ceiling() / 1e9:.0f} GB/s", flush=True)
    for shape in SHAPES:
        for x_dtype, ms in (("float32", (1, 4, 5, 6, 7, 8)), ("float16", (1, 8, 9, 12, 16))):
            cells, t1 = [], None
            for m in ms:
                info, _ = bench.measure(shape, m, x_dtype, None)
                t1 = t1 or info["time_us"]
                cells.append(f"M={m} {info['time_us']:7.2f} ({info['time_us'] / t1:.2f}x)")
            print(f"{shape[0]}x{shape[1]} {x_dtype}: " + " | ".join(cells), flush=True)


def part_f32geo(rounds: str = "2") -> None:
    sys.path.insert(0, "notes")
    from probe_util import ab_rounds, bench_cell, bench_with_spy, knob_setting

    import cupyquant.qmatmul as mm
    bench, launched = bench_with_spy(mm)
    settings = {"ship": knob_setting(mm, MV_GEOMETRY=None), "g64": knob_setting(mm, MV_GEOMETRY=(16, 64, 2))}
    ab_rounds([(4096, k) for k in (12288, 13312, 9216, 15360, 10240, 14336, 11008)], [1], settings,
              bench_cell(bench, launched, "float32"), rounds)
    settings["ship"]()


def part_f32m1q(rounds: str = "2") -> None:
    sys.path.insert(0, "notes")
    from probe_util import ab_rounds, bench_cell, bench_with_spy, knob_setting

    import cupyquant.qmatmul as mm
    bench, launched = bench_with_spy(mm)
    settings = {"ship": knob_setting(mm, MV_F32_QUEUE_ROWS=(2, 4)), "q1": knob_setting(mm, MV_F32_QUEUE_ROWS=(1, 4))}
    ab_rounds([(5120, 13824), (8192, 14336), (14336, 14336), (6144, 16384), (14336, 4096)], [1], settings,
              bench_cell(bench, launched, "float32"), rounds)
    settings["ship"]()


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        part, _, params = arg.partition(":")
        globals()[f"part_{part}"](*[p for p in params.split(",") if p])
