"""A count of assignments to the matrix-vector plan's modules (mv_plan,
mv_grid): their MV_* settings, and any function a test or probe swaps in.

matvec._matvec_tc caches each launch plan under its shape and this count.
Rebuilding a key from every setting cost about 1.5 us of host time a call
(some 40 reads, two sorted dicts), in calls that are bound by the host; a
hand-written key also went stale whenever a new setting was not added to it.
Any assignment (``mv_plan.MV_X_RING = False``, ``monkeypatch.setattr``, its
undo, ``del``) goes through the modules' class below and bumps the count, so
the next call plans again. Changing a dict or list setting in place is not
seen; assign a new one (the settings are meant to be replaced whole, as the
tests and benchmarks do).
"""

from __future__ import annotations

import sys
import types

#: Bumped by every assignment to a watched module's attributes.
generation = 0


class _WatchedModule(types.ModuleType):
    def __setattr__(self, name, value):
        global generation
        super().__setattr__(name, value)
        generation += 1

    def __delattr__(self, name):
        global generation
        super().__delattr__(name)
        generation += 1


def watch(module_name: str) -> None:
    """Count assignments to the module ``module_name`` from now on."""
    sys.modules[module_name].__class__ = _WatchedModule
