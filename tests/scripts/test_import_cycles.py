"""scripts/import_cycles.py: finds cycles, type-only imports included, and none in the integration."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parents[2] / "scripts" / "import_cycles.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_the_integration_has_no_cycle(capsys: pytest.CaptureFixture[str]) -> None:
    assert _script().main(["import_cycles"]) == 0
    assert "none among" in capsys.readouterr().out


def test_a_type_only_cycle_is_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """data imports coordinator only for types; coordinator imports data: a cycle all the same."""
    package = _package(
        tmp_path,
        {
            "__init__.py": "from .data import Runtime\n",
            "data.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .coordinator import Coordinator\n",
            "coordinator.py": "from .data import Runtime\nfrom .api.client import Client\n",
            "api/__init__.py": "from .client import Client\n",
            "api/client.py": "from .models import Model\n",
            "api/models.py": "def f():\n    from . import client\n",
        },
    )
    assert _script().main(["import_cycles", str(package)]) == 1
    out = capsys.readouterr().out
    assert "import cycle of 2 modules: coordinator, data" in out
    # Within a package, a module's own package is being imported already: no cycle through api.
    assert "import cycle of 2 modules: api.client, api.models" in out
    assert "api, api.client" not in out


def test_absolute_imports_and_parent_packages_count(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``custom_components.vtx_voip.x`` is the integration's own; importing push.manager runs push/__init__."""
    package = _package(
        tmp_path,
        {
            "__init__.py": "",
            "coordinator.py": "import custom_components.vtx_voip.push.const\n",
            "push/__init__.py": "from .manager import Manager\n",
            "push/const.py": "",
            "push/manager.py": "from custom_components.vtx_voip.coordinator import Coordinator\n",
        },
    )
    assert _script().main(["import_cycles", str(package)]) == 1
    assert "coordinator, push, push.manager" in capsys.readouterr().out
