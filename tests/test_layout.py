"""Imports run one way (README: Layout). Plumbing at the bottom, launchers on top:

    statewright  ->  api, worker  ->  workflows, activities  ->  core

A module that imports against the arrows fails here, with the file and line."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

MAY_IMPORT: dict[str, set[str]] = {
    "core": set(),
    "workflows": set(),
    "activities": {"core", "workflows"},
    "migrations": {"core"},
    "api": {"core", "workflows"},
    "worker": {"core", "workflows", "activities"},
    "statewright": {"core", "workflows", "activities", "migrations", "api", "worker"},
}
"""Each top-level package, and the project packages it may import besides itself."""


def project_imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, top-level package) of every absolute import of a project package in `path`."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in MAY_IMPORT:
                yield node.lineno, top


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_imports_run_one_way(package: str) -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{line} imports {top}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, top in project_imports(path)
        if top != package and top not in MAY_IMPORT[package]
    ]
    assert not wrong, "imports against the layout:\n" + "\n".join(wrong)


def test_every_top_level_package_has_a_rule() -> None:
    """A new top-level package must take its place in the layout before it can be used."""
    packages = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in {"tests", ".venv"}
    }
    assert packages == set(MAY_IMPORT), packages ^ set(MAY_IMPORT)


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    """The check must be able to fail: an upward import in a scratch file is found."""
    module = tmp_path / "upward.py"
    module.write_text("import os\nfrom api.app import create_app\nimport worker.main as w\n")
    assert list(project_imports(module)) == [(2, "api"), (3, "worker")]
