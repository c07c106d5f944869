"""Which GPU backend is in use and whether a GPU is usable at all.

Everything here answers without raising: on a machine with no CuPy or no GPU
``gpu_available()`` is False and ``backend()`` is None.
"""

from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def cupy_module():
    """The cupy module, or None when it is not installed or does not import."""
    try:
        import cupy
    except Exception:  # ImportError, or a CUDA/ROCm library missing underneath
        return None
    return cupy


@functools.lru_cache(maxsize=None)
def gpu_available() -> bool:
    """True when CuPy imports, sees a device and can run a kernel on it."""
    cp = cupy_module()
    if cp is None:
        return False
    try:
        if cp.cuda.runtime.getDeviceCount() < 1:
            return False
        (cp.arange(4, dtype=cp.float32) * 2).sum().item()
        return True
    except Exception:
        return False


def backend() -> str | None:
    """"rocm" for CuPy's ROCm build, "cuda" for its CUDA build, None without CuPy."""
    cp = cupy_module()
    if cp is None:
        return None
    return "rocm" if getattr(cp.cuda.runtime, "is_hip", False) else "cuda"


@functools.lru_cache(maxsize=None)
def device_info(device_id: int = 0) -> dict:
    """name, arch (e.g. "sm_90", "gfx90a"), warp_size, sm_count, l2_bytes,
    total_memory, smem_optin, backend."""
    cp = cupy_module()
    if cp is None or not gpu_available():
        return {"backend": backend(), "available": False}
    props = cp.cuda.runtime.getDeviceProperties(device_id)
    attrs = cp.cuda.Device(device_id).attributes
    name = props["name"]
    name = name.decode() if isinstance(name, bytes) else str(name)
    if backend() == "rocm":
        arch = props.get("gcnArchName", b"")
        arch = (arch.decode() if isinstance(arch, bytes) else str(arch)).split(":")[0]
    else:
        arch = f"sm_{props['major']}{props['minor']}"
    return {
        "backend": backend(),
        "available": True,
        "name": name,
        "arch": arch,
        "warp_size": int(attrs.get("WarpSize", props.get("warpSize", 32))),
        "sm_count": int(props["multiProcessorCount"]),
        "l2_bytes": int(props.get("l2CacheSize", 0)),
        "total_memory": int(props["totalGlobalMem"]),
        # the most dynamic shared memory a kernel may be allowed (opt-in)
        "smem_optin": int(props.get("sharedMemPerBlockOptin", props.get("sharedMemPerBlock", 0))),
    }


def cuda_sm(device_id: int = 0) -> int:
    """An NVIDIA device's compute capability as one number (90 for sm_90);
    0 on ROCm, without a usable GPU, or for an architecture name it cannot read."""
    if backend() != "cuda":
        return 0
    arch = device_info(device_id).get("arch", "")
    try:
        return int(arch[3:]) if arch.startswith("sm_") else 0
    except ValueError:
        return 0


def describe() -> str:
    """One line for humans: what GPU (if any) cupyquant will use."""
    if cupy_module() is None:
        return "no GPU: CuPy is not installed (CPU path only)"
    if not gpu_available():
        return "no GPU: CuPy is installed but no usable device was found (CPU path only)"
    info = device_info(cupy_module().cuda.Device().id)
    return (f"GPU: {info['name']} ({info['arch']}, {info['backend']}, warp size "
            f"{info['warp_size']}, {info['sm_count']} multiprocessors)")
