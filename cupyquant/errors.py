"""The package's exceptions."""

from __future__ import annotations


class CupyquantError(Exception):
    """Base class of every error raised on purpose by cupyquant."""


class UnsupportedFormatError(CupyquantError, KeyError):
    """A ggml type that cupyquant does not know or cannot dequantize."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class GGUFError(CupyquantError, ValueError):
    """A GGUF file that cannot be read: the message names the file and, where
    known, the tensor and the byte offset of the problem."""

    def __init__(self, message: str, *, path=None, tensor: str | None = None,
                 offset: int | None = None):
        parts = []
        if path is not None:
            parts.append(str(path))
        if tensor is not None:
            parts.append(f"tensor {tensor!r}")
        if offset is not None:
            parts.append(f"offset {offset}")
        prefix = ": ".join([", ".join(parts)]) if parts else ""
        super().__init__(f"{prefix}: {message}" if prefix else message)
        self.path = path
        self.tensor = tensor
        self.offset = offset
