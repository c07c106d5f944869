"""Compile kernel sources without a GPU, through the vendors' runtime compilers
called with ctypes: hiprtc (AMD, e.g. Debian's ROCm ``libamdhip64.so.5``) and
NVRTC (NVIDIA, e.g. the ``nvidia-cuda-nvrtc`` wheel). CI uses this to prove that
every format's ``source`` compiles for gfx90a (wave64), gfx1030 (wave32) and
sm_90 exactly as CuPy's ROCm and CUDA builds would compile it.

CDNA3 (gfx942, wave64, MFMA), RDNA3 (gfx1100, wave32, the WMMA branch of the
matmul kernels) and RDNA4 (gfx1200) are beyond that hiprtc, so they are
compiled by clang's HIP mode instead (CLANG_AMD_TARGETS): the same text with
the HIP runtime header included in front, as hiprtc pre-includes it, device
code only, no device library linked, to assembly.

    python -m cupyquant.offline_compile            # every source, every target
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import lru_cache

AMD_TARGETS = ("gfx90a", "gfx1030")
NVIDIA_TARGETS = ("sm_90",)
#: AMD targets compiled by clang's HIP mode rather than hiprtc: Debian
#: bookworm's hiprtc (ROCm 5.2) aborts the process on gfx942 and gfx1100
#: (checked: its code-object manager embeds no device library for them) and
#: predates gfx12, while the same distribution's clang-19 knows them: CDNA3
#: (MI300, wave64, the matmul's MFMA branch), RDNA3 (its WMMA branch) and
#: RDNA4 (its portable branch: RDNA4's WMMA builtins differ and are not used).
CLANG_AMD_TARGETS = ("gfx942", "gfx1100", "gfx1200")


class CompilerUnavailable(RuntimeError):
    pass


@dataclass
class CompileResult:
    ok: bool
    log: str
    binary_size: int = 0
    assembly: str = ""  # clang's compiles only
    #: hiprtc's and NVRTC's compiles only: the compiled code (hiprtcGetCode: an
    #: AMD code object; nvrtcGetCUBIN: a cubin), both ELF files whose string
    #: table holds each kernel's name as plain text (see kernel_symbols_missing).
    code: bytes = b""

    def kernel_symbols_missing(self, names) -> list:
        """Those of ``names`` (kernel names) that the output does not define:
        for clang's compiles, no ``.amdhsa_kernel NAME`` line in the assembly;
        for the others, NAME not among the identifiers in the code's bytes
        (the ELF string table's NUL-separated symbol names)."""
        if self.assembly:
            defined = set(re.findall(r"^\s*\.amdhsa_kernel\s+(\w+)", self.assembly, re.M))
        else:
            defined = {t.decode() for t in re.findall(rb"[A-Za-z_]\w*", self.code)}
        return [n for n in names if n not in defined]


def _declare(lib, prefix: str):
    """Argument types for every call: pointers are 64-bit, and without argtypes
    ctypes would truncate them (and crash the interpreter)."""
    P = ctypes.c_void_p
    fns = {
        "CreateProgram": (ctypes.c_int, [ctypes.POINTER(P), ctypes.c_char_p, ctypes.c_char_p,
                                          ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                                          ctypes.POINTER(ctypes.c_char_p)]),
        "CompileProgram": (ctypes.c_int, [P, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]),
        "GetProgramLogSize": (ctypes.c_int, [P, ctypes.POINTER(ctypes.c_size_t)]),
        "GetProgramLog": (ctypes.c_int, [P, ctypes.c_char_p]),
        "DestroyProgram": (ctypes.c_int, [ctypes.POINTER(P)]),
        "GetErrorString": (ctypes.c_char_p, [ctypes.c_int]),
    }
    code_fns = {"hiprtc": ("GetCodeSize", "GetCode"), "nvrtc": ("GetCUBINSize", "GetCUBIN")}[prefix]
    fns[code_fns[0]] = (ctypes.c_int, [P, ctypes.POINTER(ctypes.c_size_t)])
    fns[code_fns[1]] = (ctypes.c_int, [P, ctypes.c_char_p])
    for name, (res, args) in fns.items():
        f = getattr(lib, prefix + name)
        f.restype, f.argtypes = res, args
    return code_fns


def _find_nvrtc() -> str | None:
    env = os.environ.get("CUPYQUANT_NVRTC")
    if env:
        return env
    cands = []
    for p in sys.path:
        cands += glob.glob(os.path.join(p, "nvidia", "cu*", "lib", "libnvrtc.so*"))
        cands += glob.glob(os.path.join(p, "nvidia", "cuda_nvrtc", "lib", "libnvrtc.so*"))
    cands += glob.glob("/usr/local/cuda*/lib64/libnvrtc.so*")
    cands = [c for c in cands if "builtins" not in c and "alt" not in os.path.basename(c)]
    if cands:
        return sorted(cands)[-1]
    return ctypes.util.find_library("nvrtc")


def _find_hiprtc() -> str | None:
    env = os.environ.get("CUPYQUANT_HIPRTC")
    if env:
        return env
    for name in ("libhiprtc.so", "libhiprtc.so.6", "libhiprtc.so.5", "libamdhip64.so",
                 "libamdhip64.so.6", "libamdhip64.so.5"):
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        if hasattr(lib, "hiprtcCreateProgram"):
            return name
    return None


@lru_cache(maxsize=None)
def _compiler(vendor: str):
    path = _find_hiprtc() if vendor == "amd" else _find_nvrtc()
    if path is None:
        raise CompilerUnavailable(f"no {'hiprtc' if vendor == 'amd' else 'NVRTC'} library found")
    lib = ctypes.CDLL(path)
    prefix = "hiprtc" if vendor == "amd" else "nvrtc"
    return lib, prefix, _declare(lib, prefix), path


def compiler_path(vendor: str) -> str:
    return _compiler(vendor)[3]


#: The kernel each clang candidate must compile for every CLANG_AMD_TARGETS
#: target before it is used: a clang too old to know a target, or a broken
#: install, is then "unavailable", not a failure of every source.
_CLANG_PROBE = 'extern "C" __global__ void cq_clang_probe(int* p) { p[threadIdx.x] = 1; }\n'
#: Seconds a clang compile may take (the matmul module takes about 1.2 s).
CLANG_TIMEOUT_S = 600


@lru_cache(maxsize=None)
def _hip_headers() -> tuple[str, list]:
    """(install prefix, include options) of the HIP runtime header: ROCm's
    (ROCM_PATH, /opt/rocm) or the distribution's (/usr). The prefix goes to
    clang as --rocm-path, so that clang's own HIP detection uses the same
    install whatever ROCM_PATH says."""
    roots = [os.path.join(r, "include") for r in (os.environ.get("ROCM_PATH"), "/opt/rocm") if r] + ["/usr/include"]
    root = next((r for r in roots if os.path.isfile(os.path.join(r, "hip", "hip_runtime.h"))), None)
    if root is None:
        raise CompilerUnavailable(f"no HIP runtime header (hip/hip_runtime.h) in {', '.join(roots)}")
    return os.path.dirname(root), ([] if root == "/usr/include" else ["-isystem", root])


def _clang_candidates() -> list:
    """CUPYQUANT_CLANG alone if set; else ROCm's clang, then the newest
    versioned clang++ on PATH, then plain clang++."""
    env = os.environ.get("CUPYQUANT_CLANG")
    if env:
        return [env]
    rocm = [os.path.join(r, "llvm", "bin", "clang++") for r in (os.environ.get("ROCM_PATH"), "/opt/rocm") if r]
    return rocm + [f"clang++-{v}" for v in range(24, 16, -1)] + ["clang++"]


def _run_clang(clang: str, source: str, target: str, name: str, extra_options: tuple = ()) -> CompileResult:
    prefix, includes = _hip_headers()
    with tempfile.TemporaryDirectory(prefix="cq_clang_") as tmp:
        src_path, out_path = os.path.join(tmp, os.path.basename(name)), os.path.join(tmp, "out.s")
        with open(src_path, "w", encoding="utf-8") as f:
            f.write(source)
        cmd = [clang, "-x", "hip", f"--offload-arch={target}", "--cuda-device-only", "-nogpulib",
               f"--rocm-path={prefix}", "-D__HIP_PLATFORM_AMD__", *includes, "-include", "hip/hip_runtime.h",
               "-std=c++17", "-ffp-contract=off", "-fno-gpu-flush-denormals-to-zero", "-O3", *extra_options,
               "-S", "-o", out_path, src_path]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=CLANG_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            return CompileResult(False, f"{clang}: no result after {CLANG_TIMEOUT_S} s")
        except OSError as e:   # not an executable after all
            return CompileResult(False, f"{clang}: {e}")
        asm = ""
        if res.returncode == 0 and os.path.exists(out_path):
            with open(out_path, encoding="utf-8", errors="replace") as f:
                asm = f.read()
        return CompileResult(bool(asm), res.stderr, len(asm), asm)


@lru_cache(maxsize=None)
def _clang() -> str:
    """The first clang++ (_clang_candidates) that compiles the probe kernel
    for every CLANG_AMD_TARGETS target; CompilerUnavailable, saying what was
    tried, where none does."""
    _hip_headers()   # its own CompilerUnavailable first
    tried = []
    for cand in _clang_candidates():
        path = shutil.which(cand)
        if path is None:
            if os.environ.get("CUPYQUANT_CLANG"):
                tried.append(f"CUPYQUANT_CLANG={cand}: not an executable")
            continue
        for target in CLANG_AMD_TARGETS:
            res = _run_clang(path, _CLANG_PROBE, target, "probe.hip")
            if not res.ok:
                tried.append(f"{path} cannot compile for {target}: {(res.log.strip().splitlines() or ['?'])[-1]}")
                break
        else:
            return path
    raise CompilerUnavailable(f"no clang++ that compiles HIP for {'/'.join(CLANG_AMD_TARGETS)}"
                              f"{': ' + '; '.join(tried) if tried else ' found'}")


def compiler_for(target: str) -> str:
    """The compiler that compile_source uses for ``target`` (a library or an
    executable); CompilerUnavailable where there is none."""
    if target in CLANG_AMD_TARGETS:
        return _clang()
    return compiler_path("nvidia" if target.startswith("sm_") else "amd")


def _compile_with_clang(source: str, target: str, name: str, extra_options: tuple) -> CompileResult:
    """clang's HIP mode, with hiprtc's options: contraction off, denormals
    kept. -nogpulib: no device library for the target is installed (ROCm
    5.2's has none for these), so the few of its functions that the HIP
    header calls (threadIdx and blockIdx read through __ockl_get_local_id and
    the like) stay unresolved calls in the assembly. What this proves is that
    the text compiles for the target: its types, templates and the builtins
    only that target has (CDNA3's MFMA, RDNA3's WMMA); not the code object
    hiprtc would build."""
    return _run_clang(_clang(), source, target, name, extra_options)


def compile_source(source: str, target: str, name: str = "kernel.hip",
                   extra_options: tuple = ()) -> CompileResult:
    """Compile ``source`` for ``target`` ("gfx90a", "gfx1030", "sm_90", ...)
    with the options CuPy's build for that vendor would get (CLANG_AMD_TARGETS:
    clang's HIP mode; ``binary_size`` is then the assembly's)."""
    if target in CLANG_AMD_TARGETS:
        return _compile_with_clang(source, target, name, extra_options)
    vendor = "nvidia" if target.startswith("sm_") else "amd"
    lib, prefix, (size_fn, code_fn), _ = _compiler(vendor)
    if vendor == "amd":
        opts = [f"--offload-arch={target}", "-std=c++17", "-ffp-contract=off",
                "-fno-gpu-flush-denormals-to-zero", "-O3"]
    else:
        # CuPy appends -ftz=true to every NVRTC compile: do the same here.
        opts = [f"--gpu-architecture={target}", "--std=c++17", "--fmad=false", "-ftz=true"]
    opts += list(extra_options)
    prog = ctypes.c_void_p()
    call = lambda fn, *a: getattr(lib, prefix + fn)(*a)
    rc = call("CreateProgram", ctypes.byref(prog), source.encode(), name.encode(), 0, None, None)
    if rc != 0:
        return CompileResult(False, f"{prefix}CreateProgram failed: {call('GetErrorString', rc)}")
    try:
        arr = (ctypes.c_char_p * len(opts))(*[o.encode() for o in opts])
        rc = call("CompileProgram", prog, len(opts), arr)
        size = ctypes.c_size_t()
        call("GetProgramLogSize", prog, ctypes.byref(size))
        buf = ctypes.create_string_buffer(max(size.value, 1))
        call("GetProgramLog", prog, buf)
        log = buf.value.decode(errors="replace")
        if rc != 0:
            err = call("GetErrorString", rc)
            return CompileResult(False, f"{err.decode() if err else rc}\n{log}")
        size = ctypes.c_size_t()
        call(size_fn, prog, ctypes.byref(size))
        code = ctypes.create_string_buffer(max(size.value, 1))
        if size.value and call(code_fn, prog, code) != 0:
            return CompileResult(False, f"{prefix}{code_fn} failed\n{log}", size.value)
        return CompileResult(size.value > 0, log, size.value, code=code.raw[:size.value])
    finally:
        call("DestroyProgram", ctypes.byref(prog))


def all_sources() -> dict[str, str]:
    """Every kernel source the package hands to RawModule, by a readable name."""
    from .formats import FORMATS
    sources = {f"dequant {name}": FORMATS[name].source for name in FORMATS}
    try:
        from .matmul_kernels import matmul_sources
    except ImportError:
        pass
    else:
        sources.update(matmul_sources())
    return sources


def extra_targets() -> dict[str, tuple]:
    """Source label -> targets it is compiled for besides AMD_TARGETS and
    NVIDIA_TARGETS (the wgmma module: sm_90a)."""
    try:
        from .matmul_kernels import EXTRA_TARGETS
    except ImportError:
        return {}
    return dict(EXTRA_TARGETS)


def main(argv=None) -> int:
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="*", default=list(AMD_TARGETS + CLANG_AMD_TARGETS + NVIDIA_TARGETS))
    ap.add_argument("--only", nargs="*", help="source names to compile (default: all)")
    ap.add_argument("--resources", action="store_true",
                    help="also list what each build would cost on the hardware (cupyquant.kernel_resources): "
                         "AMD scratch / spills / workgroup bounds (hiprtc targets; needs msgpack), "
                         "NVIDIA local memory")
    args = ap.parse_args(argv)
    if args.resources:
        from . import kernel_resources
    failures = 0
    unavailable = {}   # target -> why: said once, not counted as failures
    for label, src in all_sources().items():
        if args.only and not any(o in label for o in args.only):
            continue
        for target in list(args.targets) + [t for t in extra_targets().get(label, ()) if t not in args.targets]:
            if target not in unavailable:
                try:
                    compiler_for(target)
                except (CompilerUnavailable, OSError) as e:
                    unavailable[target] = str(e)
                    print(f"{target}: skipped, {e}")
            if target in unavailable:
                continue
            verbose = args.resources and target.startswith("sm_")
            res = compile_source(src, target, extra_options=(kernel_resources.PTXAS_VERBOSE,) if verbose else ())
            status = "ok" if res.ok else "FAILED"
            print(f"{label:28s} {target:8s} {status} ({res.binary_size} bytes)")
            if not res.ok:
                failures += 1
                print(res.log)
            elif args.resources:
                try:
                    found = kernel_resources.problems(label, res, target)
                except ImportError as e:  # msgpack missing
                    print(f"    resources: not read ({e})")
                    continue
                for kernel, costs in sorted(found.items()):
                    print(f"    {kernel}: {'; '.join(costs)}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
