"""Repository-root pytest configuration.

``pytest`` typed at the root collects ``tests/`` only (``testpaths`` in
pyproject.toml), so the heavy benchmark work under ``benchmarks/`` never runs
in a plain test run. ``pytest --benchmark-only`` typed at the root, with no
paths, also collects ``benchmarks/``: that is how users run the benchmark
suite. Explicit paths (``pytest benchmarks --benchmark-only``) are left alone.
"""

from __future__ import annotations

from pathlib import Path

import pytest

BENCHMARK_DIR = Path(__file__).resolve().parent / "benchmarks"


def pytest_configure(config: pytest.Config) -> None:
    try:
        benchmark_only = config.getoption("benchmark_only")
    except ValueError:  # pytest-benchmark is not installed: nothing to add
        return
    if not benchmark_only or config.args_source != pytest.Config.ArgsSource.TESTPATHS:
        return
    if BENCHMARK_DIR.is_dir() and str(BENCHMARK_DIR) not in config.args:
        config.args = [*config.args, str(BENCHMARK_DIR)]
