"""Session 13: compute-sanitizer memcheck of the dequant kernels' L2 prefetch
(addresses stay inside the tile being prefetched) from aligned and unaligned
buffers, with short and automatic distances.

    compute-sanitizer --tool memcheck python3 notes/sanitize_s13.py
"""
import cupy as cp
import numpy as np

from cupyquant import FORMATS
from cupyquant.gpu.dequant import launch_dequant, tile_elems
from cupyquant.testing import assert_bit_exact, make_blocks

for name in ("TQ1_0", "Q4_0"):
    fmt = FORMATS[name]
    n_blocks = 40 * tile_elems(fmt) // fmt.block_size + 3
    raw = make_blocks(fmt, n_blocks, np.random.default_rng(1))
    ref = fmt.decode(raw)
    for offset in (0, 3):
        dev = cp.zeros(raw.size + offset, cp.uint8)
        dev[offset:] = cp.asarray(raw)
        for ahead in (1, 5, 39, 40, None):
            out = cp.empty(ref.size, cp.float32)
            launch_dequant(fmt, dev[offset:], out, ahead=ahead)
            # NaN positions equal, every other bit equal (NaN payloads may differ;
            # run 4's copy of this script compared every bit, NaNs included, and
            # printed MISMATCH for all 20 cases: the blocks hold NaN scales)
            try:
                assert_bit_exact(cp.asnumpy(out), ref)
                print(f"{name} offset {offset} ahead {ahead}: ok", flush=True)
            except AssertionError as exc:
                print(f"{name} offset {offset} ahead {ahead}: MISMATCH {str(exc)[:100]}", flush=True)
