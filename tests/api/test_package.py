"""api/ could be published as a library unchanged: no Home Assistant, nothing from outside it."""

from __future__ import annotations

import ast
from pathlib import Path
import sys

from custom_components.vtx_voip import api

API = Path(api.__file__).parent
ALLOWED = {"aiohttp", "yarl"}


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
        elif isinstance(node, ast.Import):
            found.extend((0, alias.name) for alias in node.names)
    return found


def test_imports_only_itself_aiohttp_and_the_standard_library() -> None:
    outside: dict[str, list[str]] = {}
    for path in sorted(API.rglob("*.py")):
        for level, module in _imports(path):
            top = module.split(".")[0]
            if level > 1 or (level == 0 and top not in ALLOWED and top not in sys.stdlib_module_names):
                outside.setdefault(path.name, []).append("." * level + module)
    assert outside == {}


def test_version_and_readme() -> None:
    assert api.__version__.count(".") == 2
    readme = (API / "README.md").read_text(encoding="utf-8")
    modules = {path.name for path in API.glob("*.py")} - {"__init__.py"}
    assert {name for name in modules if f"`{name}`" not in readme} == set()
