"""The registry of GGUF formats: ``FORMATS["Q4_0"]``, ``FORMATS[GGMLQuantizationType.Q4_K]``.

One module a format family; importing it registers its classes.
"""

from __future__ import annotations

from collections.abc import Mapping

from .base import BlockFormat, get_format, _REGISTRY
from . import floats, legacy, kquants, iquants, nonlinear, ternary  # noqa: F401  (registration)


class FormatRegistry(Mapping):
    """Read-only mapping from ggml type name (or GGMLQuantizationType, or type
    id) to its :class:`BlockFormat`. Iterates over names in type-id order."""

    def __getitem__(self, key) -> BlockFormat:
        return get_format(key)

    def __iter__(self):
        return (q.name for q in sorted(_REGISTRY, key=lambda q: q.value))

    def __len__(self) -> int:
        return len(_REGISTRY)

    def __contains__(self, key) -> bool:
        try:
            get_format(key)
        except (KeyError, ValueError, TypeError):
            return False
        return True

    def __repr__(self) -> str:
        return f"FORMATS({', '.join(self)})"


FORMATS = FormatRegistry()

__all__ = ["FORMATS", "BlockFormat", "get_format", "FormatRegistry"]
