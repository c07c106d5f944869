"""Session 40 device probe (H200).

    python3 notes/probe_s40.py xconv:2 mvf32:2                          (run 2)

xconv[:rounds]  M = 512 on the benchmark's four shapes (and M = 2048 on
  4096^2): float32 x with the conversion overlapped by the wgmma kernel
  (WGMMA_X_F32_STAGES; cq_x_f32_to_f16_stages at 0.5 / 1 / 2 / 4 thread
  blocks an SM) against the conversion first ("off", as session 39), float16
  x for reference, each cell the benchmark's time and its ratio to cuBLAS
  (float16 weights) of the same run; rounds in alternating order. The
  registers of the wgmma kernels the plans take are printed first: the
  converting thread blocks share the SMs with them (PDL).
mvf32[:rounds]  float32 x, M = 1, long K: the shipped plan (one row on the
  queue kernel from MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS rounds; (16, 64, 2) on
  one wave where (16, 32, 3) fits no more thread blocks) against the
  session 39 plan, on run 1's shapes.
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")
sys.path.insert(0, "notes")


def part_xconv(rounds: str = "2") -> None:
    from probe_util import ab_rounds, bench_with_spy, knob_setting

    import cupyquant.matmul_kernels as mk
    import cupyquant.qmatmul as mm
    bench, launched = bench_with_spy(mm)
    for name in ("cq_q4_0_mm_wgmma_tma_f32_n256_r64x2", "cq_q4_0_mm_wgmma_tma_f32_n256", "cq_q4_0_mm_wgmma_tma_f32_n128",
                 mk.XCONV_NAME):
        print(name, "registers", mm.runtime._sm90_function(name).attributes["num_regs"], flush=True)

    settings = {f"bps{b}": knob_setting(mm, WGMMA_X_F32_STAGES=True, WGMMA_X_F32_BLOCKS_PER_SM=b)
                for b in (0.5, 1, 2, 4)}
    settings["off"] = knob_setting(mm, WGMMA_X_F32_STAGES=False, WGMMA_X_F32_BLOCKS_PER_SM=2)

    def cell(shape, m):
        def fn():
            r, _ = bench.measure(shape, m, "float32", None)
            return f"{r['time_us']:.2f} ({r['time_us'] / r['cublas_f16_us']:.3f}x cuBLAS {r['cublas_f16_us']:.2f})"
        return fn
    shapes = [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096)]
    for shape, m in [(s, 512) for s in shapes] + [((4096, 4096), 2048)]:
        r, _ = bench.measure(shape, m, "float16", None)
        print(f"float16 {shape[0]}x{shape[1]} M={m}: {r['time_us']:.2f} ({r['time_us'] / r['cublas_f16_us']:.3f}x "
              f"cuBLAS {r['cublas_f16_us']:.2f})", flush=True)
    ab_rounds(shapes, [512], settings, cell, rounds)
    ab_rounds([(4096, 4096)], [2048], settings, cell, rounds)
    settings["bps2"]()


def part_mvf32(rounds: str = "2") -> None:
    from probe_util import ab_rounds, bench_cell, bench_with_spy, knob_setting

    import cupyquant.qmatmul as mm
    bench, launched = bench_with_spy(mm)
    real = mm.mv_plan._mv_small_ring_more_resident
    settings = {"ship": knob_setting(mm, MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS=1.33, _mv_small_ring_more_resident=real),
                "s39": knob_setting(mm, MV_F32_ONE_ROW_QUEUE_MIN_ROUNDS=0,
                                    _mv_small_ring_more_resident=lambda *a, **k: True)}
    ab_rounds([(4096, 12288), (4096, 14336), (4096, 11008), (5120, 13824), (6144, 16384), (8192, 14336)], [1],
              settings, bench_cell(bench, launched, "float32"), rounds)
    settings["ship"]()


if __name__ == "__main__":
    from probe_util import run_parts
    run_parts(globals(), sys.argv[1:])
