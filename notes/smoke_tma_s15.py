"""Smoke check of the wgmma kernel with x through TMA (session 15): one product
each way, compared bit for bit and with a float64 reference."""
import sys

import cupy as cp

import cupyquant.qmatmul as mm
from cupyquant import FORMATS, QuantizedTensor
from cupyquant.testing import sane_blocks
import numpy as np

rng = np.random.default_rng(1)
n, k, m = 1000, 4096, 300
w = QuantizedTensor(FORMATS["Q4_0"], (n, k), cp.asarray(sane_blocks(FORMATS["Q4_0"], n * k // 32, rng)))
x = cp.asarray(rng.standard_normal((m, k)).astype(np.float16))
ys = []
for on in (False, True):
    mm.WGMMA_TMA = on
    ys.append(mm.matmul(x, w, path="wgmma"))
    cp.cuda.Device().synchronize()
ref = x.astype(cp.float64) @ w.dequant(dtype="float32").astype(cp.float64).T
err = float(cp.linalg.norm(ys[1].astype(cp.float64) - ref) / cp.linalg.norm(ref))
same = bool((ys[0] == ys[1]).all())
print(f"tma smoke: bit-equal {same}, rel err {err:.2e}, tma_error {mm.tma_error}")
sys.exit(0 if same and err < 2e-3 else 1)
