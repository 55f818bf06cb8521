"""The client's modules import each other without a circle, so each can be read (and loaded)
without the ones that use it. Every import counts: at module level, in a function, or only for
type checking."""

from __future__ import annotations

import ast
from pathlib import Path

import claude_foundry

PACKAGE = Path(claude_foundry.__file__).parent
# The client: the flat private modules, the wire types and the resources. The package root only
# re-exports them; the emulator, the CLI and the operations sit on top and are checked elsewhere.
CLIENT = sorted(
    [
        *(p for p in PACKAGE.glob("_*.py") if p.name != "__init__.py" and "doctor" not in p.name),
        *(PACKAGE / "types").glob("*.py"),
        *(PACKAGE / "resources").glob("*.py"),
    ]
)


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {module for module in found if module in known and module != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    visiting: list[str] = []
    done: set[str] = set()

    def visit(node: str) -> list[str] | None:
        if node in visiting:
            return [*visiting[visiting.index(node) :], node]
        if node in done:
            return None
        visiting.append(node)
        for target in sorted(graph[node]):
            cycle = visit(target)
            if cycle:
                return cycle
        visiting.pop()
        done.add(node)
        return None

    for node in sorted(graph):
        cycle = visit(node)
        if cycle:
            return cycle
    return None


def test_the_client_modules_import_each_other_without_a_circle() -> None:
    known = {module_name(path) for path in CLIENT}
    graph = {module_name(path): imports_of(path, known) for path in CLIENT}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_no_module_of_the_package_imports_another_in_a_circle() -> None:
    """The whole package, emulator, doctor and command line included: a module that needs the
    version or any other name from the package root imports it from where it is defined."""
    everything = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(path) for path in everything}
    graph = {module_name(path): imports_of(path, known) for path in everything}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_the_cycle_finder_finds_a_circle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
