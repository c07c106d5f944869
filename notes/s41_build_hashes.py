import hashlib, sys
from cupyquant import matmul_kernels as mk
from cupyquant.offline_compile import compile_source
src = mk.matmul_source()
out = {}
for t in ("gfx90a", "gfx1030", "sm_90", "gfx1100"):
    r = compile_source(src, t, "matmul_Q4_0.hip")
    blob = r.code or r.assembly.encode()
    out[t] = (r.ok, hashlib.sha256(blob).hexdigest()[:16], len(blob))
print(out)
