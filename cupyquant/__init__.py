"""cupyquant: GGUF quantized weights on the GPU (ROCm and CUDA) through CuPy.

    import cupyquant
    tensors = cupyquant.load_gguf("model.gguf")          # name -> array
    x = cupyquant.FORMATS["Q4_0"].dequant(raw_bytes)      # NumPy decoder / GPU kernel
"""

from .errors import CupyquantError, GGUFError, UnsupportedFormatError
from .formats import FORMATS, BlockFormat, get_format

__version__ = "0.1.0"

__all__ = ["FORMATS", "BlockFormat", "get_format", "GGUFError", "CupyquantError",
           "UnsupportedFormatError", "load_gguf", "QuantizedTensor", "matmul", "__version__"]


def __getattr__(name):
    # Lazy: the reader, loader and GPU pieces import only when used.
    if name == "load_gguf":
        from .loader import load_gguf
        return load_gguf
    if name == "QuantizedTensor":
        from .quantized import QuantizedTensor
        return QuantizedTensor
    if name == "matmul":
        from .qmatmul import matmul
        return matmul
    if name == "platform":
        from .gpu import platform
        return platform
    raise AttributeError(f"module 'cupyquant' has no attribute {name!r}")
