"""The browser test's marker: ``e2e`` tests run only with VTX_E2E=1 (scripts/e2e sets it)."""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker."""
    config.addinivalue_line("markers", "e2e: browser end-to-end test, run by scripts/e2e (VTX_E2E=1)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip e2e tests unless VTX_E2E=1."""
    if os.environ.get("VTX_E2E") == "1":
        return
    skip = pytest.mark.skip(reason="browser test: run scripts/e2e (or set VTX_E2E=1)")
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(skip)
