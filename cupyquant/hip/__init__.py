"""Kernel sources (HIP, also compiled by NVRTC) and how a format's source is assembled."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def read_source(filename: str) -> str:
    return resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")


def format_source(fmt) -> str:
    """The shared header, the format's family file and the instantiation of
    its three dequantization kernels (float32, float16, bfloat16 output)."""
    return "\n".join([
        read_source("common.h"),
        read_source(f"{fmt.hip_family}.hip"),
        f"CQ_DEQUANT_KERNELS({fmt.kernel_tag}, Decoder_{fmt.name})",
        "",
    ])
