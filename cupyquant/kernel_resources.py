"""What a kernel build would cost on hardware, read from the build alone.

Used by the compile tests and by ``python -m cupyquant.offline_compile
--resources``, on a machine with no GPU:

* AMD (hiprtc's builds): the code object's metadata
  (:mod:`cupyquant.amd_code_object`): scratch, spills, a dynamic stack, LDS,
  the wavefront size, the largest workgroup against the host's launches.
  Not for clang's builds (offline_compile.CLANG_AMD_TARGETS): they link no
  device library, so every kernel calls unresolved functions and gets a
  dynamic stack whatever its code.
* NVIDIA (NVRTC builds compiled with ``PTXAS_VERBOSE``): the local memory
  ptxas reports, a stack frame or spilled registers.
"""

from __future__ import annotations

import re

#: The NVRTC option that makes ptxas report each kernel's registers and local memory.
PTXAS_VERBOSE = "--ptxas-options=-v"
#: Wavefront size of each AMD target compiled for (CQ_WARP_SIZE in hip/common.h).
AMD_WAVE_SIZES = {"gfx90a": 64, "gfx1030": 32, "gfx942": 64, "gfx1100": 32, "gfx1200": 32}

_PTXAS_KERNEL = re.compile(r"Function properties for (\w+)")
_PTXAS_LOCAL = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")


def ptxas_local_memory(log: str) -> dict[str, tuple[int, int, int]]:
    """Kernel -> (stack frame, spill store, spill load bytes) from ptxas's
    verbose log (an NVRTC compile with PTXAS_VERBOSE)."""
    found, kernel = {}, None
    for line in log.splitlines():
        m = _PTXAS_KERNEL.search(line)
        if m:
            kernel = m.group(1)
        m = _PTXAS_LOCAL.search(line)
        if m and kernel:
            found[kernel] = tuple(int(x) for x in m.groups())
    return found


def amd_launch_threads(label: str) -> int | None:
    """Work-items a workgroup the host launches the kernels of the source
    ``label`` (offline_compile.all_sources) with on AMD, or None where it
    does not launch them there (the sm_90a module) or does not know the
    label."""
    from . import matmul_kernels as mk
    from .gpu.dequant import THREADS
    if label.startswith("dequant "):
        return THREADS
    return {"matmul Q4_0": mk.THREADS}.get(label)


def problems(label: str, result, target: str, kernels=None) -> dict[str, list[str]]:
    """Kernel -> what its build would cost, for the kernels of ``result``
    (an offline_compile.CompileResult of source ``label`` for ``target``)
    that have something to report; ``kernels`` limits the check to those
    names, each of which must then be in the build. Empty where the build
    says nothing: clang's AMD builds, NVRTC builds without PTXAS_VERBOSE,
    and modules the host never launches on AMD."""
    if target in AMD_WAVE_SIZES and result.code:
        from .offline_compile import extra_targets
        threads = amd_launch_threads(label)
        if threads is None and label in extra_targets():
            return {}  # a module compiled for AMD only to prove the text portable
        from . import amd_code_object
        meta = amd_code_object.kernels(result.code)
        names = list(meta) if kernels is None else list(kernels)
        found = {name: (amd_code_object.problems(meta[name], threads or 1, AMD_WAVE_SIZES[target])
                        if name in meta else ["no AMDGPU metadata for it"]) for name in names}
    elif target.startswith("sm_"):
        usage = ptxas_local_memory(result.log)
        if not usage:
            return {}
        names = list(usage) if kernels is None else list(kernels)
        found = {}
        for name in names:
            frame, stores, loads = usage.get(name, (None, None, None))
            if frame is None:
                found[name] = ["ptxas reported nothing for it"]
            elif frame or stores or loads:
                found[name] = [f"local memory: {frame} bytes stack frame, {stores} bytes spill stores, "
                               f"{loads} bytes spill loads"]
    else:
        return {}
    return {name: p for name, p in found.items() if p}
