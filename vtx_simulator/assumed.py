"""Access to ``custom_components.vtx_voip.api.assumptions``, the one home of API assumptions.

The simulator reads every undocumented behaviour from that module. It is imported normally
when possible. When the integration package cannot be imported (its ``__init__`` pulls in
Home Assistant, which a standalone simulator may lack or which may be mid-edit), the very
same file is loaded on its own, without its package; nothing is re-defined here.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from pathlib import Path
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Final

_LOGGER = logging.getLogger(__name__)
MODULE_NAME: Final = "custom_components.vtx_voip.api.assumptions"
_STANDALONE_NAME: Final = "vtx_simulator._assumptions_standalone"
_FILE: Final = Path(__file__).resolve().parent.parent / "custom_components" / "vtx_voip" / "api" / "assumptions.py"


def load_assumptions(file: Path = _FILE) -> ModuleType:
    """Return the assumptions module: the imported one, or the same file loaded alone."""
    if (module := sys.modules.get(MODULE_NAME)) is not None:
        return module
    try:
        return importlib.import_module(MODULE_NAME)
    except Exception:  # any failure of the integration's own imports
        _LOGGER.debug("Importing %s failed; loading %s alone", MODULE_NAME, file, exc_info=True)
    # The parent package may have failed after the submodule itself was imported.
    if (module := sys.modules.get(MODULE_NAME)) is not None:
        return module
    if (module := sys.modules.get(_STANDALONE_NAME)) is not None:
        return module
    spec = importlib.util.spec_from_file_location(_STANDALONE_NAME, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_STANDALONE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[_STANDALONE_NAME]
        raise
    return module


if TYPE_CHECKING:
    from custom_components.vtx_voip.api import assumptions as A
else:
    A = load_assumptions()

__all__ = ["A", "load_assumptions"]
