"""The qmatmul package's layout, checked without a GPU: what it exports,
that its modules read each other's names through the module (``rt.launch``,
``mv_plan.MV_X_RING``: a test's monkeypatch on the defining module then
reaches every caller; tests/test_patch_targets.py checks that every patch
does), and that the matrix-vector plan cache sees every change of the
settings the plan reads."""

from __future__ import annotations

import ast
import importlib
import pathlib
import types

import pytest

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


def test_matvec_plan_cache_sees_every_setting_change(monkeypatch):
    """matvec._matvec_tc caches its plans under the launch's shape and
    plan_settings.generation: every assignment to mv_plan's and mv_grid's
    attributes (a setting, or a function a test swaps in), and its undo,
    must change that count, or a stale plan would stay in use."""
    from cupyquant.qmatmul import mv_grid, mv_plan, plan_settings
    for mod in (mv_plan, mv_grid):
        names = [n for n in vars(mod) if not n.startswith("__")]
        assert sum(n.isupper() for n in names) >= 5, names
        for name in names:
            before = plan_settings.generation
            monkeypatch.setattr(mod, name, getattr(mod, name))
            assert plan_settings.generation > before, f"{mod.__name__}.{name}"
    before = plan_settings.generation
    monkeypatch.undo()
    assert plan_settings.generation > before
    new = "_new_setting_for_this_test"   # added and deleted: no code reads it (test_patch_targets)
    monkeypatch.setattr(mv_plan, new, 1, raising=False)
    before = plan_settings.generation
    monkeypatch.delattr(mv_plan, new)
    assert plan_settings.generation > before


def test_matvec_plan_reads_settings_only_of_watched_modules():
    """The plan reads its settings from mv_plan and mv_grid (watched) and
    the kernels' compiled constants (mk: a kernel name is built from them, so
    they cannot change at run time); and the cache key holds the count."""
    for mod in ("mv_plan", "mv_grid"):
        text = (PACKAGE / f"{mod}.py").read_text(encoding="utf-8")
        read = {(n.value.id, n.attr) for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name) and n.attr.isupper()}
        assert {alias for alias, _ in read} <= {"mk", "mv_plan", "mv_grid"}, sorted(read)
        assert "plan_settings.watch(__name__)" in text
    tree = ast.parse((PACKAGE / "matvec.py").read_text(encoding="utf-8"))
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_matvec_tc")
    key = next(n.value for n in ast.walk(fn) if isinstance(n, ast.Assign)
               and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["key"])
    assert "plan_settings.generation" in ast.unparse(key)
