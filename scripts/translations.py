"""Build translations/en.json from strings.json, resolving ``[%key:...%]`` references.

Home Assistant reads only translations/<lang>.json at runtime, so en.json must be fully
resolved. ``--check`` exits 1 when en.json is out of date, or when a de/fr/it file has
keys or placeholders that differ from en.json.

Usage: .venv/bin/python scripts/translations.py [--check]
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import sys
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INTEGRATION = ROOT / "custom_components" / "vtx_voip"
DOMAIN = "vtx_voip"
LANGUAGES = ("de", "fr", "it")
REFERENCE = re.compile(r"\[%key:([a-z0-9_:]+)%\]")
PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")


def _ha_strings(path: str) -> dict[str, Any]:
    import homeassistant  # noqa: PLC0415

    base = Path(homeassistant.__file__).parent
    return json.loads((base / path).read_text(encoding="utf-8"))


def _lookup(key: str, own: dict[str, Any]) -> str:
    parts = key.split("::")
    if parts[0] == "common":
        tree: Any = _ha_strings("strings.json")
    elif parts[0] == "component" and parts[1] == DOMAIN:
        tree, parts = own, parts[2:]
    elif parts[0] == "component":
        tree, parts = _ha_strings(f"components/{parts[1]}/strings.json"), parts[2:]
    else:
        raise KeyError(key)
    for part in parts:
        tree = tree[part]
    if not isinstance(tree, str):
        raise KeyError(key)
    return tree


def resolve(node: Any, own: dict[str, Any]) -> Any:
    """Return ``node`` with every reference replaced by its text (recursively)."""
    if isinstance(node, dict):
        return {key: resolve(value, own) for key, value in node.items()}
    if isinstance(node, str):
        for _ in range(5):
            new = REFERENCE.sub(lambda match: _lookup(match.group(1), own), node)
            if new == node:
                break
            node = new
        return node
    return node


def _shape(node: Any, prefix: str = "") -> dict[str, set[str]]:
    """Map every leaf key to the placeholders its text uses."""
    if isinstance(node, dict):
        result: dict[str, set[str]] = {}
        for key, value in node.items():
            result.update(_shape(value, f"{prefix}.{key}" if prefix else key))
        return result
    return {prefix: set(PLACEHOLDER.findall(node))}


def main() -> int:
    """Build or check the translation files."""
    check = "--check" in sys.argv
    strings = json.loads((INTEGRATION / "strings.json").read_text(encoding="utf-8"))
    english = resolve(strings, strings)
    text = json.dumps(english, indent=2, ensure_ascii=False) + "\n"
    target = INTEGRATION / "translations" / "en.json"
    problems: list[str] = []
    if check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            problems.append("translations/en.json is out of date: run scripts/translations.py")
    else:
        target.write_text(text, encoding="utf-8")
    reference = _shape(english)
    for language in LANGUAGES:
        path = INTEGRATION / "translations" / f"{language}.json"
        if not path.exists():
            problems.append(f"translations/{language}.json is missing")
            continue
        shape = _shape(json.loads(path.read_text(encoding="utf-8")))
        missing = sorted(reference.keys() - shape.keys())
        extra = sorted(shape.keys() - reference.keys())
        wrong = sorted(key for key in reference.keys() & shape.keys() if reference[key] != shape[key])
        problems.extend(f"{language}: missing {key}" for key in missing)
        problems.extend(f"{language}: not in strings.json {key}" for key in extra)
        problems.extend(f"{language}: placeholders differ in {key}" for key in wrong)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
