"""Device probe: dequant throughput for tile-size variants (float16 and float32 output)."""
import sys, numpy as np, cupy as cp
sys.path.insert(0, "benchmarks")
from gpu_timing import copy_bandwidth, event_time_s
from cupyquant import FORMATS
from cupyquant.gpu.modules import compile_options, device_table
from cupyquant.testing import sane_blocks

ceil = copy_bandwidth(cp)
print(f"copy ceiling {ceil/1e9:.0f} GB/s")
sms = cp.cuda.Device().attributes["MultiProcessorCount"]
n = 14336 * 4096
for name in sys.argv[1:]:
    fmt = FORMATS[name]
    host = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0))
    k = max(1, -(-(200 << 20) // host.nbytes))
    ins = [cp.asarray(host) for _ in range(k)]
    tptr = device_table(fmt.name, fmt.tables).data.ptr if fmt.tables() is not None else 0
    for dt in ("float16", "float32"):
        out = cp.empty(n, dt)
        row = []
        for tbytes, umax, bps in ((16384, 8, 32), (32768, 16, 32), (32768, 16, 16), (24576, 12, 32), (16384, 8, 64)):
            bytes_u1 = 2048 // fmt.block_size * fmt.type_size
            U = max(1, min(umax, tbytes // bytes_u1))
            if bytes_u1 * U > 48 * 1024:
                continue
            mod = cp.RawModule(code=fmt.source, options=compile_options(
                (f"-DCQ_TILE_BYTES_MAX={tbytes}", f"-DCQ_UNROLL_MAX={umax}")))
            fn = mod.get_function(fmt.kernel_name(dt))
            grid = min(-(-n // (2048 * U)), sms * bps)
            st = {"i": 0}
            def one():
                st["i"] = (st["i"] + 1) % k
                fn((grid,), (256,), (ins[st["i"]], out, np.int64(n), np.uint64(tptr)))
            t = event_time_s(cp, one, reps=20)
            row.append(f"{tbytes//1024}K/u{umax}/b{bps}:{(host.nbytes+out.nbytes)/t/ceil:.2f}")
        print(f"{name:6s} {dt:8s} " + " ".join(row), flush=True)
