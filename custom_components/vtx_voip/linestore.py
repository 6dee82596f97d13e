"""What the integration keeps per entry across restarts: baselines and timed reverts.

- A *baseline* is the snapshot of all of a line's features, taken when the line is first
  seen or by ``vtx_voip.save_baseline``; ``vtx_voip.reset_line`` writes it back.
- A *revert* undoes a ``vtx_voip.set_call_forward`` with ``until`` at that instant, even
  if Home Assistant restarted in between.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, TypedDict

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .api import Feature
from .const import DOMAIN

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 1


class Revert(TypedDict):
    """A forward to put back at ``at``."""

    user_id: int
    feature: str
    at: str
    status: str
    destination: str | None


class _Stored(TypedDict):
    baselines: dict[str, dict[str, dict[str, Any]]]
    reverts: list[Revert]


class LineStore:
    """Baselines and pending reverts of one entry."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Initialise."""
        self._store: Store[_Stored] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.lines")
        self.baselines: dict[int, dict[str, dict[str, Any]]] = {}
        self.reverts: list[Revert] = []

    async def async_load(self) -> None:
        """Load what earlier runs stored."""
        stored = await self._store.async_load()
        if not stored:
            return
        self.baselines = {int(user_id): features for user_id, features in stored.get("baselines", {}).items()}
        self.reverts = list(stored.get("reverts", []))

    def _data(self) -> _Stored:
        return {
            "baselines": {str(user_id): features for user_id, features in self.baselines.items()},
            "reverts": self.reverts,
        }

    def _save(self) -> None:
        self._store.async_delay_save(self._data, SAVE_DELAY)

    def set_baseline(self, user_id: int, features: dict[str, Feature]) -> None:
        """Snapshot a line's features as its baseline."""
        self.baselines[user_id] = {name: feature.to_json() for name, feature in features.items()}
        self._save()

    def add_revert(self, revert: Revert) -> None:
        """Remember a revert (replacing one pending for the same feature)."""
        self.reverts = [
            item
            for item in self.reverts
            if (item["user_id"], item["feature"]) != (revert["user_id"], revert["feature"])
        ]
        self.reverts.append(revert)
        self._save()

    def pop_revert(self, user_id: int, feature: str) -> Revert | None:
        """Forget and return the revert pending for a feature."""
        for item in self.reverts:
            if (item["user_id"], item["feature"]) == (user_id, feature):
                self.reverts.remove(item)
                self._save()
                return item
        return None

    @staticmethod
    def revert_time(revert: Revert) -> datetime:
        """When a revert is due."""
        return dt_util.parse_datetime(revert["at"]) or dt_util.utcnow()

    async def async_save(self) -> None:
        """Save now."""
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the stored data."""
        await self._store.async_remove()
