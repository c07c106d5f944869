"""Session 38 device probe (H200): does a newer NVRTC cost the M = 1 kernels?

NVRTC 13.5 (the nvidia-cuda-nvrtc wheel on the CI machine) builds 39 of the
matmul module's matrix-vector kernels with local memory (tests/test_compile.py's
ptxas log reader in cupyquant.kernel_resources, here). Float16 x, n1_r16_k64_s2: "_xs1" spills 12 bytes
(stores) and "_xsq1c" 24, where the device's NVRTC 13.0.88 gave 0 and 12
(session 35, notes/h200_s35/run4/spills.txt); "_xsqc" 0 where 13.0.88 gave
12; "_xs", "_xsq" and "_xsq1" none under either. The plain "_s2" / "_s3" and
"_s3_xs" builds and float32 x's "_s2" / "_s3" spill 4-36 bytes under 13.5
(168 bytes of loads for float32 "_s3"). CuPy compiles with whatever NVRTC the user
has, so a user on CUDA 13.5 may get slower M = 1. Run this part once with
the device's NVRTC and once with 13.5 preloaded (notes/device_s38_nvrtc.sh).

    python3 notes/probe_s38.py spills        ptxas's local memory of the matvec kernels, this NVRTC
    python3 notes/probe_s38.py mv:2          M = 1 / 8 float16 and M = 1 float32 on the issue's shapes
"""

from __future__ import annotations

import sys

sys.path.insert(0, "benchmarks")


def _nvrtc_version() -> str:
    import cupy
    return ".".join(str(v) for v in cupy.cuda.nvrtc.getVersion())


def part_spills() -> None:
    import ctypes
    import os

    from cupyquant import offline_compile as oc
    from cupyquant.kernel_resources import PTXAS_VERBOSE, ptxas_local_memory
    lib = os.environ.get("CUPYQUANT_NVRTC") or oc.compiler_path("nvidia")
    major, minor = ctypes.c_int(), ctypes.c_int()
    ctypes.CDLL(lib).nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
    print(f"offline NVRTC {major.value}.{minor.value} ({lib})")
    src = oc.all_sources()["matmul Q4_0"]
    res = oc.compile_source(src, "sm_90", extra_options=(PTXAS_VERBOSE,))
    assert res.ok, res.log
    for name, (frame, stores, loads) in sorted(ptxas_local_memory(res.log).items()):
        if name.startswith(("cq_q4_0_mv_tc", "cq_q4_0_mvi8", "cq_q4_0_mv_gen")):
            print(f"{name:48s} frame {frame:3d} spill stores {stores:3d} loads {loads:3d}")


def part_mv(rounds: str = "2") -> None:
    import cupy

    from test_bench_matmul import SHAPES, get_bench
    print(f"CuPy {cupy.__version__}, NVRTC {_nvrtc_version()}")
    bench = get_bench()
    print(f"copy ceiling {bench.ceiling() / 1e9:.0f} GB/s")
    for shape in SHAPES:
        for m, x_dtype in ((1, "float16"), (8, "float16"), (1, "float32")):
            times = []
            for _ in range(int(rounds)):
                info, _ = bench.measure(shape, m, x_dtype, None)
                times.append(info["time_us"])
            print(f"{info['shape']:>12s} M={m} {x_dtype:8s} {info['path']:24s} "
                  f"us {' '.join(f'{t:7.2f}' for t in times)}  frac_copy {info['frac_copy']:.3f}")


if __name__ == "__main__":
    for arg in sys.argv[1:]:
        part, _, params = arg.partition(":")
        globals()[f"part_{part}"](*[p for p in params.split(",") if p])
