"""Per-entry line operations behind the actions: forwards with ``until``, baselines, reset."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .api import Feature
from .api.assumptions import STATUS_ACTIVE, STATUS_INACTIVE
from .const import DOMAIN, FORWARD_FEATURES, LOGGER
from .coordinator import LineConfig, VtxFeatureCoordinator
from .linestore import LineStore, Revert
from .util import normalize_destination


def _summary(feature: Feature | dict[str, Any]) -> dict[str, Any]:
    """Return what a person wants to see of a feature: its status and destination."""
    feature = feature if isinstance(feature, Feature) else Feature.from_json(feature)
    result: dict[str, Any] = {"status": feature.status}
    if feature.forward is not None:
        result["destination"] = feature.forward.destination_uri
    return result


class LineManager:
    """Runs the line actions of one entry; owns its revert timers."""

    def __init__(self, hass: HomeAssistant, features: VtxFeatureCoordinator, store: LineStore) -> None:
        """Initialise."""
        self.hass = hass
        self.features = features
        self.store = store
        self._timers: dict[tuple[int, str], Callable[[], None]] = {}

    async def async_start(self) -> None:
        """Take the first baseline of new lines; schedule pending reverts."""
        for user_id in self.features.lines:
            if user_id not in self.store.baselines and (data := (self.features.data or {}).get(user_id)):
                self.store.set_baseline(user_id, data)
        for revert in list(self.store.reverts):
            if revert["user_id"] in self.features.lines:
                self._schedule(revert)

    @callback
    def async_stop(self) -> None:
        """Cancel the revert timers (the reverts stay stored)."""
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()

    def _schedule(self, revert: Revert) -> None:
        key = (revert["user_id"], revert["feature"])
        if (cancel := self._timers.pop(key, None)) is not None:
            cancel()

        async def _fire(_now: datetime) -> None:
            self._timers.pop(key, None)
            await self._async_revert(revert)

        self._timers[key] = async_track_point_in_utc_time(
            self.hass, _fire, max(LineStore.revert_time(revert), dt_util.utcnow())
        )

    async def _async_revert(self, revert: Revert) -> None:
        def change(feature: Feature) -> Feature:
            if revert["destination"] and feature.forward is not None:
                feature = feature.with_destination(revert["destination"])
            return feature.with_status(revert["status"] == STATUS_ACTIVE)

        try:
            await self.features.async_write_feature(revert["user_id"], revert["feature"], change)
        except HomeAssistantError as err:
            LOGGER.warning("Undoing the forward of line %s failed: %s", revert["user_id"], err)
            return
        self.store.pop_revert(revert["user_id"], revert["feature"])

    async def async_set_forward(
        self,
        line: LineConfig,
        kind: str,
        *,
        enabled: bool,
        destination: str | None,
        until: datetime | None,
    ) -> dict[str, Any]:
        """Set a forward; with ``until``, undo it by itself at that instant."""
        feat_name = FORWARD_FEATURES[kind]
        target = None
        if destination is not None:
            target = normalize_destination(destination)
            if target is None:
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="invalid_destination",
                    translation_placeholders={"destination": destination},
                )
        if until is not None and until <= dt_util.utcnow():
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key="until_in_past")
        before: dict[str, Any] = {}

        def change(feature: Feature) -> Feature:
            before.update(_summary(feature))
            if target is not None:
                feature = feature.with_destination(target)
            if enabled and (feature.forward is None or not feature.forward.destination_uri):
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key="destination_missing",
                    translation_placeholders={"line": line.name},
                )
            return feature.with_status(enabled)

        answer = await self.features.async_write_feature(line.user_id, feat_name, change)
        if until is not None:
            revert: Revert = {
                "user_id": line.user_id,
                "feature": feat_name,
                "at": until.isoformat(),
                "status": before.get("status", STATUS_INACTIVE),
                "destination": before.get("destination"),
            }
            self.store.add_revert(revert)
            self._schedule(revert)
        elif (cancel := self._timers.pop((line.user_id, feat_name), None)) is not None:
            # A new setting without ``until`` replaces a pending undo.
            cancel()
            self.store.pop_revert(line.user_id, feat_name)
        return {
            "line": line.name,
            "user_id": line.user_id,
            "feature": feat_name,
            "before": before,
            "after": _summary(answer),
        }

    def save_baseline(self, line: LineConfig) -> int:
        """Snapshot a line's current features as its baseline; return how many."""
        data = (self.features.data or {}).get(line.user_id)
        if not data or not self.features.line_available(line.user_id):
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="line_unavailable",
                translation_placeholders={"line": line.name},
            )
        self.store.set_baseline(line.user_id, data)
        return len(data)

    async def async_reset(self, line: LineConfig) -> list[dict[str, Any]]:
        """Write back every feature that differs from the baseline; return the changes."""
        baseline = self.store.baselines.get(line.user_id)
        if not baseline:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="no_baseline",
                translation_placeholders={"line": line.name},
            )
        changes: list[dict[str, Any]] = []
        for feat_name, saved in baseline.items():
            current = self.features.feature(line.user_id, feat_name)
            if current is None:
                continue
            data_key = current.data_key
            if current.raw.get("status") == saved.get("status") and current.raw.get(data_key) == saved.get(data_key):
                continue

            def change(feature: Feature, saved: dict[str, Any] = saved, data_key: str = data_key) -> Feature:
                body = feature.to_json()
                body["status"] = saved.get("status", body.get("status"))
                if data_key in saved:
                    body[data_key] = saved[data_key]
                return Feature.from_json(body)

            answer = await self.features.async_write_feature(line.user_id, feat_name, change)
            changes.append({"feature": feat_name, "before": _summary(current), "after": _summary(answer)})
            self.store.pop_revert(line.user_id, feat_name)
            if (cancel := self._timers.pop((line.user_id, feat_name), None)) is not None:
                cancel()
        return changes
