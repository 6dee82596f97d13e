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

from ..api import Feature
from ..const import DOMAIN, LOGGER

STORAGE_VERSION: Final = 1
SAVE_DELAY: Final = 1


class Revert(TypedDict):
    """A forward to put back at ``at`` (an ISO instant) to ``status``/``destination``."""

    user_id: int
    feature: str
    at: str
    status: str
    destination: str | None


class _Stored(TypedDict):
    baselines: dict[str, dict[str, dict[str, Any]]]
    reverts: list[Revert]


def _parse_revert(item: Any) -> Revert | None:
    """Return a stored revert, or None when it is not one (it is then dropped)."""
    if not isinstance(item, dict):
        return None
    user_id, feature, at, status = (item.get(key) for key in ("user_id", "feature", "at", "status"))
    destination = item.get("destination")
    if (
        not isinstance(user_id, int)
        or isinstance(user_id, bool)
        or not isinstance(feature, str)
        or not isinstance(status, str)
        or not isinstance(at, str)
        or dt_util.parse_datetime(at) is None
        or not (destination is None or isinstance(destination, str))
    ):
        return None
    return Revert(user_id=user_id, feature=feature, at=at, status=status, destination=destination)


class LineStore:
    """Baselines and pending reverts of one entry."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Initialise."""
        self._store: Store[_Stored] = Store(hass, STORAGE_VERSION, f"{DOMAIN}.{entry_id}.lines")
        self.baselines: dict[int, dict[str, dict[str, Any]]] = {}
        self.reverts: list[Revert] = []

    async def async_load(self) -> None:
        """Load what earlier runs stored; entries that do not parse are dropped (logged once)."""
        stored = await self._store.async_load()
        if not isinstance(stored, dict):
            return
        dropped = 0
        baselines = stored.get("baselines")
        for user_id, features in (baselines if isinstance(baselines, dict) else {}).items():
            if str(user_id).isdigit() and isinstance(features, dict):
                self.baselines[int(user_id)] = {name: body for name, body in features.items() if isinstance(body, dict)}
            else:
                dropped += 1
        reverts = stored.get("reverts")
        for item in reverts if isinstance(reverts, list) else []:
            if (revert := _parse_revert(item)) is not None:
                self.reverts.append(revert)
            else:
                dropped += 1
        if dropped:
            LOGGER.warning("Ignored %s unreadable stored baseline(s) or revert(s)", dropped)

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

    def forget_line(self, user_id: int) -> None:
        """Forget a removed line's baseline."""
        if self.baselines.pop(user_id, None) is not None:
            self._save()

    def get_revert(self, user_id: int, feature: str) -> Revert | None:
        """Return the revert pending for a feature."""
        return next(
            (item for item in self.reverts if (item["user_id"], item["feature"]) == (user_id, feature)),
            None,
        )

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
        if (item := self.get_revert(user_id, feature)) is None:
            return None
        self.reverts.remove(item)
        self._save()
        return item

    def discard_revert(self, revert: Revert) -> None:
        """Forget this very revert (not one that replaced it meanwhile)."""
        self.reverts = [item for item in self.reverts if item is not revert]
        self._save()

    def pop_line_reverts(self, user_id: int) -> list[Revert]:
        """Forget and return every revert pending for a line."""
        popped = [item for item in self.reverts if item["user_id"] == user_id]
        if popped:
            self.reverts = [item for item in self.reverts if item["user_id"] != user_id]
            self._save()
        return popped

    @staticmethod
    def revert_time(revert: Revert) -> datetime:
        """When a revert is due (a time without zone is taken as UTC)."""
        at = dt_util.parse_datetime(revert["at"]) or dt_util.utcnow()
        return at if at.tzinfo is not None else at.replace(tzinfo=dt_util.UTC)

    async def async_save(self) -> None:
        """Save now."""
        await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Delete the stored data."""
        await self._store.async_remove()
