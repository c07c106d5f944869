"""Device probe: dequant skeleton throughput for several CQ_UNROLL values."""
import sys, numpy as np, cupy as cp
sys.path.insert(0, "benchmarks")
from gpu_timing import copy_bandwidth, event_time_s
from cupyquant import FORMATS
from cupyquant.gpu.modules import compile_options
from cupyquant.testing import sane_blocks

ceil = copy_bandwidth(cp)
print(f"copy ceiling {ceil/1e9:.0f} GB/s")
big = cp.empty(1 << 30, cp.uint8)
tm = event_time_s(cp, lambda: cp.cuda.runtime.memsetAsync(big.data.ptr, 1, big.nbytes, cp.cuda.get_current_stream().ptr))
print(f"memset {big.nbytes/tm/1e9:.0f} GB/s (ratio to copy {big.nbytes/tm/ceil:.2f})")
del big
sms = cp.cuda.Device().attributes["MultiProcessorCount"]
n = 14336 * 4096
for name in sys.argv[1:]:
    fmt = FORMATS[name]
    host = sane_blocks(fmt, n // fmt.block_size, np.random.default_rng(0))
    k = max(1, -(-(200 << 20) // host.nbytes))
    ins = [cp.asarray(host) for _ in range(k)]
    from cupyquant.gpu.modules import device_table
    tptr = device_table(fmt.name, fmt.tables).data.ptr if fmt.tables() is not None else 0
    for dt in ("float16", "float32"):
        out = cp.empty(n, dt)
        row = []
        from cupyquant.gpu.dequant import tile_elems
        U = tile_elems(fmt) // 2048
        for bps, cs in ((8, 1), (32, 1), (32, 0), (64, 1)):
            if True:
                opts = (f"-DCQ_STREAMING_STORES={cs}",)
                mod = cp.RawModule(code=fmt.source, options=compile_options(opts))
                fn = mod.get_function(fmt.kernel_name(dt))
                tiles = -(-n // (2048 * U))
                grid = min(tiles, sms * bps)
                st = {"i": 0}
                def one():
                    st["i"] = (st["i"] + 1) % k
                    fn((grid,), (256,), (ins[st["i"]], out, np.int64(n), np.uint64(tptr)))
                t = event_time_s(cp, one, reps=30)
                row.append(f"U{U}/b{bps}{'cs' if cs else ''}:{(host.nbytes+out.nbytes)/t/ceil:.2f}")
        print(f"{name:6s} {dt:8s} " + " ".join(row))
