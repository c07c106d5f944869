"""The qmatmul package's modules and the names tests, benchmarks and probes
set on them, checked without a GPU.

Most matmul tests run only on a GPU. Each module of cupyquant.qmatmul reads
the other modules' settings and hooks through the module (``rt.launch``,
``mv_plan.MV_X_RING``), so a test that patches a name must patch it on the
module that defines it; patched anywhere else it would change nothing and
the GPU test would silently check the default. These checks read the
sources, so CI catches that before a GPU run does.
"""

from __future__ import annotations

import ast
import importlib
import pathlib
import sys
import types

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cupyquant" / "qmatmul"
#: Files that import the package's modules under these names and patch them.
USERS = ["tests/test_matmul.py", "tests/test_launch.py", "benchmarks/test_bench_matmul.py"]
MODULES = ("dispatch", "matvec", "mv_plan", "mv_grid", "wgmma", "mma", "dequant_gemm", "runtime")


def _module(name: str) -> types.ModuleType:
    return importlib.import_module(f"cupyquant.qmatmul.{name}")


def _aliases(tree: ast.Module) -> dict:
    """alias -> module name for ``from cupyquant.qmatmul import X as alias``
    and ``from . import X as alias`` anywhere in ``tree``."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in ("cupyquant.qmatmul", None) \
                and (node.module or node.level == 1):
            for a in node.names:
                if a.name in MODULES:
                    found[a.asname or a.name] = a.name
    return found


def _reads() -> set:
    """(module, name) for every global the package's code reads at run time:
    a bare name inside a function of that module, or ``alias.name`` in any
    module of the package."""
    reads = set()
    for mod in MODULES:
        tree = ast.parse((PACKAGE / f"{mod}.py").read_text(encoding="utf-8"))
        aliases = _aliases(tree)
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.Lambda)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    reads.add((mod, node.id))
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                        and node.value.id in aliases:
                    reads.add((aliases[node.value.id], node.attr))
    return reads


def _uses(path: str):
    """(line, alias's module, name, patched) for ``alias.name`` and
    ``[monkeypatch.]setattr(alias, "name", ...)`` in one user file."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    aliases = _aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            yield node.lineno, aliases[node.value.id], node.attr, isinstance(node.ctx, ast.Store)
        elif isinstance(node, ast.Call) and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in aliases and isinstance(node.args[1], ast.Constant) \
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "setattr":
            yield node.lineno, aliases[node.args[0].id], node.args[1].value, True


def test_package_exports():
    import cupyquant
    import cupyquant.qmatmul as qm
    assert cupyquant.matmul is qm.matmul is qm.dispatch.matmul
    assert qm.wgmma_available is qm.wgmma.wgmma_available
    for mod in MODULES:
        assert getattr(qm, mod) is _module(mod)


@pytest.mark.parametrize("path", USERS)
def test_users_patch_the_module_that_reads(path):
    """Every name a test or benchmark reads from a module of the package
    exists there, and every name it sets (monkeypatch.setattr, assignment)
    is one that the package's code reads from that module."""
    reads = _reads()
    seen = 0
    for line, mod, name, patched in _uses(path):
        seen += 1
        assert hasattr(_module(mod), name), f"{path}:{line}: {mod}.{name} does not exist"
        if patched:
            assert (mod, name) in reads, f"{path}:{line}: sets {mod}.{name}, which no code of the package reads " \
                                         f"from {mod} (patch the module that reads it)"
    assert seen, f"{path} uses no module of the package: the check saw nothing"


def test_modules_read_each_others_names_through_the_module():
    """No module of the package imports another's names (``from .x import
    name``): a monkeypatch on the defining module would not reach its copy."""
    for mod in MODULES:
        tree = ast.parse((PACKAGE / f"{mod}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is not None:
                pytest.fail(f"{mod}.py line {node.lineno}: from .{node.module} import ...; "
                            f"import the module and read its names through it")


def test_check_catches_a_patch_of_the_wrong_module(tmp_path, monkeypatch):
    """The check above fails on a knob set on a module that does not read it."""
    bad = tmp_path / "test_bad.py"
    bad.write_text("from cupyquant.qmatmul import matvec, mv_plan\n"
                   "def test_x(monkeypatch):\n"
                   "    monkeypatch.setattr(mv_plan, 'MV_X_RING', False)\n"   # right module
                   "    matvec.MV_X_RING = False\n", encoding="utf-8")      # wrong one
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    uses = list(_uses("test_bad.py"))
    assert [(m, n, p) for _, m, n, p in uses] == [("mv_plan", "MV_X_RING", True), ("matvec", "MV_X_RING", True)]
    reads = _reads()
    assert ("mv_plan", "MV_X_RING") in reads and ("matvec", "MV_X_RING") not in reads


def test_matvec_plan_cache_key_has_every_setting_the_plan_reads():
    """matvec._matvec_tc caches its plans by a key of the launch's shape and
    the settings of mv_plan and mv_grid: a setting the plan reads but the key
    lacks would leave a stale plan in use after it is changed at run time."""
    reads = {(mod, name) for mod, name in _reads() if mod in ("mv_plan", "mv_grid") and name.isupper()}
    settings = {(mod, name) for mod, name in reads if hasattr(_module(mod), name)}
    assert ("mv_plan", "MV_X_RING") in settings and ("mv_grid", "MV_SPLIT_COST") in settings
    tree = ast.parse((PACKAGE / "matvec.py").read_text(encoding="utf-8"))
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_matvec_tc")
    key = next(n.value for n in ast.walk(fn) if isinstance(n, ast.Assign)
               and [t.id for t in n.targets if isinstance(t, ast.Name)] == ["key"])
    in_key = {(n.value.id, n.attr) for n in ast.walk(key)
              if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
    assert not settings - in_key, f"settings the plan reads but the cache key lacks: {sorted(settings - in_key)}"
