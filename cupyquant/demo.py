"""``cupyquant demo``: a GGUF file with one tensor of every format, written with
gguf-py, loaded back with :func:`cupyquant.load_gguf` and checked bit for bit
against ``gguf.quants.dequantize``.

Formats gguf-py can quantize are quantized from random normal weights; for the
others (k-quants, i-quants, ...) random blocks are written whose float16 scale
fields hold small finite values, so every dequantized value is finite. The GPU
is used when one is usable (``cupyquant.gpu.platform.gpu_available()``), the
CPU otherwise.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import numpy as np

DEFAULT_ELEMENTS = 1 << 20   # per tensor: the whole demo runs in seconds on 2 CPU cores
# Per tensor. The demo keeps every format's blocks and float32 result at once:
# at this bound that is already tens of GiB over all formats, and a mistyped
# count far above it would start allocating terabytes.
MAX_ELEMENTS = 1 << 28
ELEMENT_QUANTUM = 256        # every block size (1, 32, 64, 128, 256) divides it
ARCH = "cupyquant-demo"


def _round_elements(n: int | None) -> int:
    if n is None:
        n = DEFAULT_ELEMENTS
    if n < 1:
        raise ValueError(f"--elements must be positive, got {n}")
    if n > MAX_ELEMENTS:
        raise ValueError(f"--elements must be at most {MAX_ELEMENTS:,} (2**28) a format, got {n:,}")
    return -(-n // ELEMENT_QUANTUM) * ELEMENT_QUANTUM


def _shape_for(n: int) -> tuple[int, int]:
    """A matrix shape (rows, cols) with n elements and rows a whole number of blocks."""
    for cols in (4096, 2048, 1024, 512, 256):
        if n % cols == 0:
            return n // cols, cols
    raise AssertionError(n)


def make_tensor(fmt, shape: tuple[int, int], rng: np.random.Generator):
    """(data to hand to GGUFWriter.add_tensor, raw bytes as uint8, how made)."""
    from gguf import quants
    from .testing import sane_blocks

    rows, cols = shape
    weights = (rng.standard_normal(shape) * 0.05).astype(np.float32)
    try:
        with np.errstate(all="ignore"):
            data = np.ascontiguousarray(quants.quantize(weights, fmt.qtype))
        how = "gguf quantize"
    except NotImplementedError:
        n_blocks = rows * cols // fmt.block_size
        data = sane_blocks(fmt, n_blocks, rng).reshape(rows, cols // fmt.block_size * fmt.type_size)
        _sane_packed_scale(fmt, data.reshape(n_blocks, fmt.type_size), rng)
        how = "random blocks"
    raw = data.view(np.uint8).reshape(-1)
    if raw.size != fmt.nbytes_for(rows * cols):
        raise AssertionError(f"{fmt.name}: {raw.size} bytes for {shape}")
    return data, raw, how


def _sane_packed_scale(fmt, blocks: np.ndarray, rng: np.random.Generator) -> None:
    """IQ1_M keeps its float16 scale in the top 4 bits of its four uint16
    ``scales`` words (bits 4k..4k+3 of the scale in word k): give it a small
    finite value, as sane_blocks does for plain float16 fields."""
    if fmt.name != "IQ1_M":
        return
    off = fmt.block_dtype.fields["scales"][1]
    words = blocks[:, off:off + 8].copy().view("<u2")             # (n, 4)
    d = (rng.random(blocks.shape[0]) * 0.01 + 0.001).astype(np.float16).view(np.uint16)
    for k in range(4):
        nib = ((d >> np.uint16(4 * k)) & np.uint16(0xF)) << np.uint16(12)
        words[:, k] = (words[:, k] & np.uint16(0x0FFF)) | nib
    blocks[:, off:off + 8] = words.view(np.uint8)


def write_gguf(path: str, tensors: list[tuple[str, object, np.ndarray]]) -> None:
    """tensors: (name, format, data) with data as made by :func:`make_tensor`."""
    import gguf

    writer = gguf.GGUFWriter(path, arch=ARCH)
    writer.add_name("cupyquant demo: one tensor of every format")
    writer.add_description("written by `cupyquant demo` with gguf.GGUFWriter")
    for name, fmt, data in tensors:
        if data.dtype == np.uint8:
            writer.add_tensor(name, data, raw_dtype=fmt.qtype)
        else:  # float32 / float16 arrays: gguf picks F32 / F16 from the dtype
            writer.add_tensor(name, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()


def reference(fmt, raw: np.ndarray) -> np.ndarray:
    """gguf-py's float32 dequantization of raw bytes, flat."""
    from gguf import quants
    with np.errstate(all="ignore"):
        out = quants.dequantize(raw.reshape(-1, fmt.type_size), fmt.qtype)
    return np.asarray(out, dtype=np.float32).reshape(-1)


def compare_bits(ours: np.ndarray, ref: np.ndarray) -> str | None:
    """None when bit-exact (every non-NaN float32 bit equal, NaN at the same
    positions), else a short description of the first differences."""
    ours = np.ascontiguousarray(ours).reshape(-1)
    ref = np.ascontiguousarray(ref).reshape(-1)
    if ours.dtype != np.float32:
        return f"dtype {ours.dtype}, expected float32"
    if ours.shape != ref.shape:
        return f"{ours.size} elements, expected {ref.size}"
    nan_o, nan_r = np.isnan(ours), np.isnan(ref)
    bad = np.flatnonzero((nan_o != nan_r) | ((ours.view(np.uint32) != ref.view(np.uint32)) & ~nan_o))
    if bad.size == 0:
        return None
    first = bad[:3]
    return (f"{bad.size} values differ; first at {first.tolist()}: "
            f"ours {ours[first].tolist()} gguf {ref[first].tolist()}")


def _to_host(arr) -> np.ndarray:
    get = getattr(arr, "get", None)  # CuPy array
    return get() if callable(get) and not isinstance(arr, np.ndarray) else np.asarray(arr)


def time_dequant(fmt, raw: np.ndarray, use_gpu: bool, repeats: int) -> float:
    """Median seconds of our dequantization of ``raw`` to float32 (GPU: input
    already on the device, timed with events; CPU: the NumPy decoder)."""
    repeats = max(1, repeats)
    if use_gpu:
        import cupy as cp
        dev = cp.asarray(raw)
        out = fmt.dequant(dev, dtype=cp.float32)  # compiles (or loads) the kernel
        cp.cuda.Stream.null.synchronize()
        times = []
        start, stop = cp.cuda.Event(), cp.cuda.Event()
        for _ in range(repeats):
            start.record()
            fmt.dequant(dev, dtype=cp.float32, out=out)
            stop.record()
            stop.synchronize()
            times.append(cp.cuda.get_elapsed_time(start, stop) / 1e3)
        return statistics.median(times)
    fmt.dequant(raw)  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fmt.dequant(raw)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _table(rows, header, align) -> str:
    from .cli import table
    return table(rows, header, align)


def run_demo(elements: int | None = None, device: str = "auto", formats=None,
             output: str | None = None, repeats: int = 5, out=None) -> int:
    """Run the demo; returns the exit status (0: every tensor bit-exact)."""
    from . import FORMATS
    from .errors import CupyquantError
    from .gpu import platform

    out = out or sys.stdout
    say = lambda *a: print(*a, file=out, flush=True)

    n = _round_elements(elements)
    shape = _shape_for(n)
    fmts = [FORMATS[f] for f in (formats or FORMATS)]
    fmts = list({f.name: f for f in fmts}.values())  # each format once, in the order given

    if device not in ("auto", "gpu", "cpu"):
        raise ValueError(f"device must be auto, gpu or cpu, got {device!r}")
    use_gpu = device != "cpu" and platform.gpu_available()
    if device == "gpu" and not use_gpu:
        raise CupyquantError(f"--device gpu asked for, but {platform.describe()}")
    if use_gpu:
        say(f"Using the {platform.describe()}")
    elif device == "cpu":
        say("Using the CPU (--device cpu); " + platform.describe())
    else:
        say(f"Using the CPU: {platform.describe()}")

    rng = np.random.default_rng(2024)
    t0 = time.perf_counter()
    made = []
    for fmt in fmts:
        data, raw, how = make_tensor(fmt, shape, rng)
        made.append((f"demo.{fmt.name.lower()}.weight", fmt, data, raw, how))

    tmp = None
    if output:
        path = os.path.abspath(output)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="cupyquant-demo-")
        path = os.path.join(tmp.name, "demo.gguf")
    try:
        write_gguf(path, [(name, fmt, data) for name, fmt, data, _, _ in made])
        size = os.path.getsize(path)
        say(f"Wrote {len(made)} tensors of {n:,} elements ({shape[0]} x {shape[1]}) to {path} "
            f"({size / 2**20:.2f} MiB) in {time.perf_counter() - t0:.2f} s")

        from . import load_gguf
        t0 = time.perf_counter()
        loaded = load_gguf(path, device=None if use_gpu else "cpu", dtype=np.float32)
        if use_gpu:
            import cupy as cp
            cp.cuda.Device().synchronize()
        say(f"load_gguf(device={'None (GPU)' if use_gpu else repr('cpu')}) read and dequantized "
            f"them in {time.perf_counter() - t0:.2f} s"
            + (" (the first run includes compiling the kernels)" if use_gpu else ""))
        say("")

        rows, problems = [], []
        for name, fmt, _, raw, how in made:
            if name not in loaded:
                problems.append(f"{fmt.name}: tensor {name!r} missing from load_gguf's result")
                result = "MISSING"
            else:
                arr = loaded[name]
                host = _to_host(arr)
                why = None
                if tuple(host.shape) != shape:
                    why = f"shape {tuple(host.shape)}, expected {shape}"
                else:
                    why = compare_bits(host, reference(fmt, raw))
                result = "exact" if why is None else "MISMATCH"
                if why is not None:
                    problems.append(f"{fmt.name}: {why}")
            secs = time_dequant(fmt, raw, use_gpu, repeats)
            rows.append([fmt.name, f"{n:,}", f"{fmt.bits_per_weight:.4g}", how, result,
                         f"{n / secs / 1e6:,.0f}"])
    finally:
        if tmp is not None:
            tmp.cleanup()

    where = "GPU, input on the device" if use_gpu else "CPU, NumPy decoder"
    say(_table(rows, ["format", "elements", "bits/w", "input", "result",
                      f"M elem/s ({where})"], "<>><<>"))
    say("")
    if problems:
        for p in problems:
            say("MISMATCH " + p)
        say(f"{len(problems)} of {len(made)} tensors differ from gguf.quants.dequantize")
        return 1
    say(f"All {len(made)} tensors equal gguf.quants.dequantize bit for bit (float32).")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_demo())
