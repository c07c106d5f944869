# Session 16, run 1 (H200): wgmma with x and weights by TMA and mbarrier slots
# (no thread-block barrier in the loop), one lop3 a weight register pair:
# a smoke check, the matmul + launch GPU tests, then the pipeline A/B probe.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site:$PWD || exit 1
export PYTHONUNBUFFERED=1
timeout 90 python3 - > $OUT/smoke.txt 2>&1 <<'PY'
import cupy as cp, numpy as np, sys
sys.path.insert(0, "benchmarks")
from test_bench_matmul import random_q4_0_device
import cupyquant.qmatmul as mm
for n, k, m in [(1000, 4096, 600), (4096, 14336, 512), (130, 512, 17)]:
    w = random_q4_0_device(n, k, seed=1)
    x = cp.random.standard_normal((m, k), dtype=cp.float32).astype(cp.float16)
    ref = x.astype(cp.float64) @ w.dequant(dtype="float32").astype(cp.float64).T
    for tma in (True, False):
        mm.WGMMA_TMA = tma
        y = mm.matmul(x, w, path="wgmma")
        cp.cuda.Device().synchronize()
        err = float(cp.linalg.norm(y.astype(cp.float64) - ref) / cp.linalg.norm(ref))
        print(n, k, m, "tma" if tma else "cp.async", f"rel err {err:.2e}", "tma_error", mm.tma_error, flush=True)
PY
echo "smoke rc=$?"; cat $OUT/smoke.txt | tail -8
timeout 210 python3 -m pytest tests/test_matmul.py tests/test_launch.py -q -p no:cacheprovider -rs > $OUT/t_matmul.txt 2>&1; echo "matmul+launch tests rc=$?"; tail -2 $OUT/t_matmul.txt; grep -m8 -E "^FAILED|^ERROR" $OUT/t_matmul.txt
timeout 230 python3 notes/probe_s16.py wg > $OUT/probe_wg.txt 2>&1; echo "probe rc=$?"; cat $OUT/probe_wg.txt
