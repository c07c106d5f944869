"""The qmatmul package's layout, checked without a GPU: what it exports,
that its modules read each other's names through the module (``rt.launch``,
``mv_plan.MV_X_RING``: a test's monkeypatch on the defining module then
reaches every caller; tests/test_patch_targets.py checks that every patch
does), and that the matrix-vector plan cache's key holds every setting the
plan reads."""

from __future__ import annotations

import ast
import importlib
import pathlib
import types

import pytest
from test_patch_targets import package_reads

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cupyquant" / "qmatmul"
MODULES = ("dispatch", "matvec", "mv_plan", "mv_grid", "wgmma", "mma", "dequant_gemm", "runtime")


def _module(name: str) -> types.ModuleType:
    return importlib.import_module(f"cupyquant.qmatmul.{name}")


def test_package_exports():
    import cupyquant
    import cupyquant.qmatmul as qm
    assert cupyquant.matmul is qm.matmul is qm.dispatch.matmul
    assert qm.wgmma_available is qm.wgmma.wgmma_available
    for mod in MODULES:
        assert getattr(qm, mod) is _module(mod)


def test_modules_read_each_others_names_through_the_module():
    """No module of the package imports another's names (``from .x import
    name``): a monkeypatch on the defining module would not reach its copy."""
    for mod in MODULES:
        tree = ast.parse((PACKAGE / f"{mod}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is not None:
                pytest.fail(f"{mod}.py line {node.lineno}: from .{node.module} import ...; "
                            f"import the module and read its names through it")


def test_matvec_plan_cache_key_has_every_setting_the_plan_reads():
    """matvec._matvec_tc caches its plans by a key of the launch's shape and
    the settings of mv_plan and mv_grid: a setting the plan reads but the key
    lacks would leave a stale plan in use after it is changed at run time."""
    reads = {(mod.rpartition(".")[2], name) for mod, name in package_reads()
             if mod in ("cupyquant.qmatmul.mv_plan", "cupyquant.qmatmul.mv_grid") and name.isupper()}
    settings = {(mod, name) for mod, name in reads if hasattr(_module(mod), name)}
    assert ("mv_plan", "MV_X_RING") in settings and ("mv_grid", "MV_SPLIT_COST") in settings
    tree = ast.parse((PACKAGE / "matvec.py").read_text(encoding="utf-8"))
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_matvec_tc")
    key = next(n.value for n in ast.walk(fn) if isinstance(n, ast.Assign)
               and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["key"])
    in_key = {(n.value.id, n.attr) for n in ast.walk(key)
              if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    assert not settings - in_key, f"settings the plan reads but the cache key lacks: {sorted(settings - in_key)}"
