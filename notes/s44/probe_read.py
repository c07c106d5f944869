"""Session 44: the loader's read methods, mmap (shipped) against pread, with medians
(session 43's sweep had one load each: pread 60.8 ms against 66.3 ms).

    python3 notes/s44/probe_read.py [rounds]

The load benchmark's 2.3 GB Llama-like file (Q4_K / Q4_0 / Q6_K) in the page cache;
loads to float16 on device 0, the two methods alternating (ABBA order), each load's
outputs freed before the next; the pinned host -> device copy of the same bytes in
the same run as the ceiling."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, "benchmarks")

import cupy as cp  # noqa: E402

from cupyquant import load_gguf  # noqa: E402
from cupyquant.gpu import loader as gl  # noqa: E402
from test_bench_load import LAYERS, model_specs, write_model  # noqa: E402


def main(rounds: int = 6) -> None:
    d = Path(tempfile.mkdtemp())
    path = d / "model.gguf"
    t0 = time.perf_counter()
    write_model(path, model_specs(LAYERS), {})
    nbytes = path.stat().st_size
    print(f"file {nbytes / 1e9:.2f} GB written in {time.perf_counter() - t0:.1f} s", flush=True)
    path.read_bytes()   # into the page cache
    pinned = cp.cuda.alloc_pinned_memory(nbytes)
    dev = cp.empty(nbytes, dtype=cp.uint8)
    copies = []
    for _ in range(5):
        cp.cuda.Device().synchronize()
        t = time.perf_counter()
        cp.cuda.runtime.memcpy(dev.data.ptr, pinned.ptr, nbytes, cp.cuda.runtime.memcpyHostToDevice)
        cp.cuda.Device().synchronize()
        copies.append(time.perf_counter() - t)
    del dev, pinned
    copy_s = statistics.median(copies)
    print(f"pinned copy of the file's bytes: median {copy_s * 1e3:.1f} ms ({nbytes / copy_s / 1e9:.1f} GB/s)", flush=True)
    times = {"mmap": [], "pread": []}

    def one(method):
        gl.READ_METHOD = method
        cp.cuda.Device().synchronize()
        t = time.perf_counter()
        out = load_gguf(path, device=0)
        cp.cuda.Device().synchronize()
        dt = time.perf_counter() - t
        del out
        return dt

    one("mmap"), one("pread")   # warm-up: kernels compiled, pools filled
    for r in range(rounds):
        order = ("mmap", "pread") if r % 2 == 0 else ("pread", "mmap")
        for method in order:
            times[method].append(one(method))
        print(f"round {r}: " + " | ".join(f"{m} {times[m][-1] * 1e3:.1f} ms" for m in order), flush=True)
    for method, ts in times.items():
        med = statistics.median(ts)
        print(f"{method}: median {med * 1e3:.1f} ms ({med / copy_s:.2f}x the pinned copy), "
              f"min {min(ts) * 1e3:.1f}, max {max(ts) * 1e3:.1f}", flush=True)
    gl.READ_METHOD = "mmap"
    path.unlink()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
