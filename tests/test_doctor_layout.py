"""The doctor is one package whose modules import each other without a circle."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import claude_foundry.doctor as doctor_package

PACKAGE_DIR = Path(doctor_package.__file__).parent


def _imports_within_package(path: Path) -> set[str]:
    """The sibling modules a doctor module imports (``from .x import y``, ``from . import x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
    return found


def test_the_doctor_modules_import_without_a_circle() -> None:
    graph = {
        path.stem: _imports_within_package(path)
        for path in PACKAGE_DIR.glob("*.py")
        if path.stem != "__init__"
    }
    assert "__init__" not in {name for deps in graph.values() for name in deps}
    visiting: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        assert name not in visiting, f"import circle: {' -> '.join([*visiting, name])}"
        if name in done:
            return
        visiting.append(name)
        for dep in sorted(graph.get(name, ())):
            visit(dep)
        visiting.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_the_old_top_level_doctor_modules_are_gone() -> None:
    root = PACKAGE_DIR.parent
    assert not [p.name for p in root.glob("_doctor*.py")]
    assert not (root / "doctor.py").exists()


def test_the_public_names_import_as_before() -> None:
    module = importlib.import_module("claude_foundry.doctor")
    for name in module.__all__:
        assert getattr(module, name) is not None
    assert {"run_doctor", "DoctorOptions", "CheckResult", "exit_code", "CHECK_NAMES"} <= set(
        module.__all__
    )
