"""Check that the integration's modules form no import cycle, type-only imports included.

Reads every module of custom_components/vtx_voip with ``ast`` (nothing is imported) and
follows every import of the integration's own modules, those under ``if TYPE_CHECKING:``
and inside functions too. Importing ``pkg.mod`` from outside ``pkg`` also imports the
subpackage ``pkg`` (Python runs its ``__init__`` first); the integration's own
``__init__`` is left out, as Home Assistant imports it before anything else. Prints each cycle and exits 1 if any.

Usage: .venv/bin/python scripts/import_cycles.py [package folder]
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
import sys

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "custom_components" / "vtx_voip"
ABSOLUTE = "custom_components.vtx_voip"


def modules(package: Path) -> dict[str, Path]:
    """Every module of the package by dotted name relative to it (``""`` is its ``__init__``)."""
    found: dict[str, Path] = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _parents(name: str) -> Iterator[str]:
    """The subpackages importing ``name`` runs (not the integration's root)."""
    parts = name.split(".")
    for end in range(1, len(parts)):
        yield ".".join(parts[:end])


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The integration's modules that module ``name`` imports, wherever the import is."""
    is_package = path.name == "__init__.py"
    here = name.split(".") if name else []
    package = here if is_package else here[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        bases: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join([*anchor, *(node.module.split(".") if node.module else [])])
            elif node.module and (node.module == ABSOLUTE or node.module.startswith(ABSOLUTE + ".")):
                base = node.module.removeprefix(ABSOLUTE).lstrip(".")
            else:
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}" if base else alias.name
                bases.append(submodule if submodule in known else base)
        elif isinstance(node, ast.Import):
            bases = [
                alias.name.removeprefix(ABSOLUTE).lstrip(".")
                for alias in node.names
                if alias.name == ABSOLUTE or alias.name.startswith(ABSOLUTE + ".")
            ]
        for base in bases:
            # The subpackages the importing module is part of are being imported already.
            parents = [parent for parent in _parents(base) if not (name + ".").startswith(parent + ".")]
            for target in (*parents, base):
                if target and target in known and target != name:
                    targets.add(target)
    return targets


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _path_in(component: list[str], graph: dict[str, set[str]]) -> list[str]:
    """One cycle through the component's first module, to show how it closes."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for target in sorted(graph[node] & members):
            if target == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [*reversed(path), start]
            if target not in previous:
                previous[target] = node
                queue.append(target)
    return component  # pragma: no cover - a component always closes


def main(argv: list[str]) -> int:
    package = Path(argv[1]) if len(argv) > 1 else PACKAGE
    known = modules(package)
    graph = {name: imports(name, path, known) - {""} for name, path in known.items() if name}
    found = cycles(graph)
    for component in found:
        print(f"import cycle of {len(component)} modules: {', '.join(component)}")
        print(f"  for example: {' -> '.join(_path_in(component, graph))}")
    if found:
        return 1
    print(f"import cycles: none among {len(graph)} modules (type-only imports included)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
