"""Session 41, run on the CPU: the single module qmatmul.py as of 849c23c and
the package cupyquant/qmatmul/ that replaced it (e68f4bc) make the same plans
(matrix-vector kernel, geometry, shared memory, grid, splits, clusters, the
occupancy cap; the wgmma choice and tail; choose_path) for 4480 + 420 + 120
cases, with kernel builds, occupancy and the device stubbed alike in both.

    git show 849c23c:cupyquant/qmatmul.py > /tmp/keep/qmatmul.py
    python notes/s41_split_plan_diff.py        (output: notes/s41_split_plan_diff.txt)
"""
import importlib.util, sys, types, hashlib
import numpy as np
import cupyquant
import cupyquant.qmatmul as new
spec = importlib.util.spec_from_file_location("cupyquant.qmatmul_old", "/tmp/keep/qmatmul.py")
old = importlib.util.module_from_spec(spec); sys.modules[spec.name] = old; spec.loader.exec_module(old)

def occ(cp, kern, smem):  # deterministic stand-in: by name and bytes
    h = int(hashlib.md5(kern.name.encode()).hexdigest(), 16) % 3
    return max(1, min(8, (227 << 10) // (smem + 1024) - h))
def kws(cp, name, smem, function=None):
    return types.SimpleNamespace(name=name, shared_size_bytes=0)
def mac(kern, block, smem, cluster):
    return (occ(None, kern, smem) * 132) // cluster[1] - 1
fake_cp = types.SimpleNamespace(float32=np.dtype("float32"), float16=np.dtype("float16"),
                                cuda=types.SimpleNamespace(Device=lambda *a: types.SimpleNamespace(id=0)))
info = lambda dev: {"sm_count": 132, "smem_optin": 232448, "warp_size": 32}
for clusters in (True, False):
    old._kernel_with_smem = kws; old._occupancy = occ; old.clusters_usable = lambda d: clusters
    old.max_active_clusters = mac; old.device_info = info
    rt = new.runtime
    rt._kernel_with_smem = kws; rt._occupancy = occ; rt.clusters_usable = lambda d: clusters
    rt.max_active_clusters = mac; rt.device_info = info
    n = 0
    for xd, yd in [("float16", "float16"), ("float32", "float32"), ("float16", "float32")]:
        for mc in range(1, 17):
            if xd == "float32" and mc > 8:
                continue
            for K in (512, 2048, 4096, 8192, 11008, 14336, 16384, 28672):
                for N in (1000, 2048, 4096, 11008, 14336, 32000, 128256):
                    nb, tiles = K // 32, -(-N // 16)
                    n_tiles = -(-2 * mc // 8) if xd == "float32" else (1 if mc <= 8 else 2)
                    a = old._mv_plan(fake_cp, np.dtype(xd), np.dtype(yd), mc, nb, tiles, n_tiles, 132)
                    b = new.mv_plan._mv_plan(fake_cp, np.dtype(xd), np.dtype(yd), mc, nb, tiles, n_tiles, 132)
                    key = lambda p: tuple(getattr(v, "name", v) for v in p)
                    assert key(a) == key(b), (xd, mc, K, N, key(a), key(b))
                    a = old._mv_plan_clusters(fake_cp, a, mc, tiles, 132, 0)
                    b = new.mv_grid._mv_plan_clusters(fake_cp, b, mc, tiles, 132, 0)
                    assert key(a) == key(b), (xd, mc, K, N)
                    a = old._mv_cap_occupancy(fake_cp, a, 132, 232448)
                    b = new.mv_grid._mv_cap_occupancy(fake_cp, b, 132, 232448)
                    assert key(a) == key(b), (xd, mc, K, N)
                    n += 1
    print("clusters", clusters, "matvec plans equal:", n)
m = 0
for M in (17, 33, 64, 100, 128, 129, 256, 300, 384, 512, 1000, 2048):
    for N in (130, 1000, 4096, 14336, 128256):
        for K in (256, 512, 2048, 4096, 6144, 8192, 14336):
            assert old._wgmma_choice(M, N, K, 132) == new.wgmma._wgmma_choice(M, N, K, 132)
            for w in (64, 128, 256):
                assert old._wgmma_tail(M, N, w, 132) == new.wgmma._wgmma_tail(M, N, w, 132)
            m += 1
print("wgmma choices equal:", m)
old._tensor_cores = lambda d: True; new.dispatch._tensor_cores = lambda d: True
old.wgmma_available = lambda d: True; new.wgmma.wgmma_available = lambda d: True
c = 0
for M in (1, 2, 8, 16, 17, 24, 32, 33, 64, 512):
    for xd in ("float16", "float32"):
        for N, K in [(4096, 4096), (14336, 4096), (4096, 14336), (128256, 4096), (1000, 512), (None, None)]:
            assert old.choose_path(M, np.dtype(xd), 0, N, K) == new.choose_path(M, np.dtype(xd), 0, N, K)
            c += 1
print("choose_path equal:", c)
