"""Session 22: the matmul sources through NVRTC with -G (as
tests/test_matmul.py::test_every_kernel_name_is_compiled), printing the
compiler's log: the submitted source, and the split-sum helper written
without a generic lambda (notes/s22_nvrtc_variant.py)."""
import ctypes
import sys

sys.path.insert(0, "notes")
from s22_nvrtc_variant import variant  # noqa: E402

from cupyquant import matmul_kernels as mk  # noqa: E402
from cupyquant.offline_compile import _compiler  # noqa: E402

lib = _compiler("nvidia")[0]
v = ctypes.c_int(); w = ctypes.c_int()
lib.nvrtcVersion(ctypes.byref(v), ctypes.byref(w))
print("NVRTC", v.value, w.value)
P = ctypes.c_void_p
for label, source, arch in [("matmul", mk.matmul_source(), b"compute_90"),
                            ("matmul variant", variant(mk.matmul_source()), b"compute_90"),
                            ("sm90", mk.matmul_sm90_source(), b"compute_90a")]:
    prog = P()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), b"matmul.hip", 0, None, None) == 0
    opts = [b"--gpu-architecture=" + arch, b"--std=c++17", b"-G"]
    rc = lib.nvrtcCompileProgram(prog, len(opts), (ctypes.c_char_p * len(opts))(*opts))
    n = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(n))
    buf = ctypes.create_string_buffer(n.value)
    lib.nvrtcGetProgramLog(prog, buf)
    print(label, "rc", rc, buf.value.decode(errors="replace")[-3000:], flush=True)
