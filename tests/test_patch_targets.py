"""Every setting or hook a test or benchmark patches on a cupyquant module is
one that the package's code reads from that module. Checked without a GPU.

Most GPU tests change a module's settings or replace its functions
(``monkeypatch.setattr(mv_plan, "MV_X_RING", False)``). Set on a module
whose code does not read the name (another module imported it under its own
name, or reads it from elsewhere), the patch changes nothing and the test
silently checks the default. The GPU tests run only on a lent device; this
check reads the sources, so CI sees such a patch first.

"Reads" means: a bare name inside a function of the module, ``alias.name``
inside a function of any module where ``alias`` is that module, or a
``from module import name`` inside a function (looked up at call time).
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "cupyquant"
USERS = sorted([*(ROOT / "tests").glob("*.py"), *(ROOT / "benchmarks").glob("*.py")])


def _module_name(path: pathlib.Path) -> tuple[str, bool]:
    """(dotted name, whether it is a package's __init__) of a package file."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    is_init = parts[-1] == "__init__"
    return ".".join(parts[:-1] if is_init else parts), is_init


def _absolute(this: str | None, is_init: bool, level: int, module: str | None) -> str | None:
    """The module an ImportFrom in module ``this`` names."""
    if level == 0:
        return module
    if this is None:
        return None
    base = this.split(".")
    base = base[:len(base) - level + (1 if is_init else 0)]
    return ".".join(base + ([module] if module else []))


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _module_aliases(tree: ast.AST, this: str | None = None, is_init: bool = False) -> dict:
    """Local name -> cupyquant module, for every import of a cupyquant module
    under a name (``import cupyquant.x as y``, ``from cupyquant.x import y``)."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("cupyquant") and a.asname:
                    found[a.asname] = a.name
        elif isinstance(node, ast.ImportFrom):
            mod = _absolute(this, is_init, node.level, node.module)
            if mod and mod.startswith("cupyquant"):
                for a in node.names:
                    if _is_module(f"{mod}.{a.name}"):
                        found[a.asname or a.name] = f"{mod}.{a.name}"
    return found


def package_reads() -> set:
    """(module, name) for every global the package's code reads at run time."""
    reads = set()
    for path in PACKAGE.rglob("*.py"):
        this, is_init = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = _module_aliases(tree, this, is_init)
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                    reads.add((this, node.id))
                elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                        and node.value.id in aliases:
                    reads.add((aliases[node.value.id], node.attr))
                elif isinstance(node, ast.ImportFrom):
                    mod = _absolute(this, is_init, node.level, node.module)
                    reads.update((mod, a.name) for a in node.names)
    return reads


def patches(path: pathlib.Path) -> list:
    """(line, module, name) for each ``[monkeypatch.]setattr(alias, "name",
    ...)`` and ``alias.name = ...`` on a cupyquant module in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = _module_aliases(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) \
                and node.args[0].id in aliases and isinstance(node.args[1], ast.Constant) \
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "setattr":
            found.append((node.lineno, aliases[node.args[0].id], node.args[1].value))
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                and isinstance(node.value, ast.Name) and node.value.id in aliases:
            found.append((node.lineno, aliases[node.value.id], node.attr))
    return found


def test_every_patch_reaches_the_code():
    reads = package_reads()
    seen, wrong = 0, []
    for path in USERS:
        for line, module, name in patches(path):
            seen += 1
            if (module, name) not in reads:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: sets {module}.{name}, which no code of "
                             f"the package reads from {module}")
    assert seen > 150, f"only {seen} patches found: the check has stopped seeing them"
    assert not wrong, "\n".join(wrong)


def test_check_catches_a_patch_of_the_wrong_module(tmp_path):
    bad = tmp_path / "test_bad.py"
    bad.write_text("from cupyquant.qmatmul import matvec, mv_plan\n"
                   "import cupyquant.gpu.loader as gl\n"
                   "def test_x(monkeypatch):\n"
                   "    monkeypatch.setattr(mv_plan, 'MV_X_RING', False)\n"  # read there
                   "    matvec.MV_X_RING = False\n"                          # not read there
                   "    monkeypatch.setattr(gl, 'SLOT_BYTES', 1 << 20)\n", encoding="utf-8")
    reads = package_reads()
    found = [(module, name, (module, name) in reads) for _, module, name in patches(bad)]
    assert sorted(found) == [("cupyquant.gpu.loader", "SLOT_BYTES", True),
                             ("cupyquant.qmatmul.matvec", "MV_X_RING", False),
                             ("cupyquant.qmatmul.mv_plan", "MV_X_RING", True)]


@pytest.mark.parametrize("name", ["cupyquant.qmatmul.runtime", "cupyquant.gpu.dequant", "cupyquant.gpu.loader"])
def test_reads_include_hooks_read_through_modules(name):
    """Sanity of the reader: hooks the tests patch are seen as read."""
    reads = package_reads()
    expected = {"cupyquant.qmatmul.runtime": "launch", "cupyquant.gpu.dequant": "get_function",
                "cupyquant.gpu.loader": "load_to_gpu"}[name]
    assert (name, expected) in reads
