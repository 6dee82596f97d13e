"""Per-entry line operations behind the actions: forwards with ``until``, baselines, reset."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
import logging
from typing import Any, Final

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from ..api import Feature
from ..api.assumptions import STATUS_ACTIVE, STATUS_INACTIVE
from ..const import DOMAIN, FORWARD_FEATURES, LOGGER
from ..coordinator import VtxFeatureCoordinator
from ..helpers import vtx_exception_handler
from ..util import normalize_destination
from .config import LineConfig
from .store import LineStore, Revert

# A revert that failed (API down) is tried again after this long, until it works.
REVERT_RETRY_DELAY: Final = timedelta(minutes=5)


def _summary(feature: Feature | dict[str, Any]) -> dict[str, Any]:
    """Return what a person wants to see of a feature: its status and destination."""
    feature = feature if isinstance(feature, Feature) else Feature.from_json(feature)
    result: dict[str, Any] = {"status": feature.status}
    if feature.forward is not None:
        result["destination"] = feature.forward.destination_uri
    return result


def validate_forward(destination: str | None, until: datetime | None) -> str | None:
    """Check the arguments of a forward; return the destination as the API takes it.

    Raises a translated ``ServiceValidationError`` for a destination that is neither a
    phone number nor a SIP address, and for an ``until`` that is not in the future.
    """
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
    return target


class LineManager:
    """Runs the line actions of one entry; owns its revert timers.

    Built before the entry's platforms, stopped when it unloads: after ``async_stop`` no
    timer fires and no revert is written, so after a reload only the new manager acts.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        features: VtxFeatureCoordinator,
        store: LineStore,
        lines: dict[int, LineConfig],
    ) -> None:
        """Initialise (``lines`` is the entry's shared mapping)."""
        self.hass = hass
        self.features = features
        self.store = store
        self.lines = lines
        self._timers: dict[tuple[int, str], Callable[[], None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._failing: set[tuple[int, str]] = set()
        self._stopped = False

    def async_start(self) -> None:
        """Take the first baseline of new lines; schedule pending reverts (due ones at once)."""
        for line in self.lines.values():
            self.async_line_added(line)

    @callback
    def async_line_added(self, line: LineConfig) -> None:
        """Baseline a line that joined (or the entry started) if new; schedule its reverts."""
        user_id = line.user_id
        if user_id not in self.store.baselines and (data := self.features.line_data(user_id)):
            self.store.set_baseline(user_id, data)
        for revert in list(self.store.reverts):
            if revert["user_id"] == user_id:
                self._schedule(revert, LineStore.revert_time(revert))

    @callback
    def async_line_removed(self, user_id: int) -> None:
        """Stop a removed line's timers; forget its reverts and baseline."""
        for revert in self.store.pop_line_reverts(user_id):
            self._cancel(user_id, revert["feature"])
        self.store.forget_line(user_id)

    async def async_stop(self) -> None:
        """Cancel the revert timers and any revert being written (the reverts stay stored)."""
        self._stopped = True
        for cancel in self._timers.values():
            cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.store.async_save()

    def _cancel(self, user_id: int, feat_name: str) -> None:
        if (cancel := self._timers.pop((user_id, feat_name), None)) is not None:
            cancel()

    def _schedule(self, revert: Revert, when: datetime) -> None:
        if self._stopped:
            return
        key = (revert["user_id"], revert["feature"])
        self._cancel(*key)

        @callback
        def _fire(_now: datetime) -> None:
            self._timers.pop(key, None)
            if self._stopped:
                return
            task = self.hass.async_create_background_task(
                self._async_revert(revert), f"vtx_voip revert {key[1]} of {key[0]}", eager_start=True
            )
            if not task.done():
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

        self._timers[key] = async_track_point_in_utc_time(self.hass, _fire, max(when, dt_util.utcnow()))

    async def _async_revert(self, revert: Revert) -> None:
        """Put a forward back as it was before a ``set_call_forward`` with ``until``."""
        user_id, feat_name = revert["user_id"], revert["feature"]
        if (line := self.lines.get(user_id)) is None:
            return
        if self.features.line_available(user_id) and self.features.feature(user_id, feat_name) is None:
            LOGGER.warning("Line %s no longer has %s: its timed forward is dropped", user_id, feat_name)
            self.store.discard_revert(revert)
            return

        def change(feature: Feature) -> Feature:
            if revert["destination"] and feature.forward is not None:
                feature = feature.with_destination(revert["destination"])
            return feature.with_status(revert["status"] == STATUS_ACTIVE)

        key = (user_id, feat_name)
        try:
            await self.features.async_write_feature(line, feat_name, change)
        except HomeAssistantError as err:
            # Logged once per revert, not at every retry.
            LOGGER.log(
                logging.DEBUG if key in self._failing else logging.WARNING,
                "Undoing %s of line %s failed (%s); trying again every %s",
                feat_name,
                user_id,
                err,
                REVERT_RETRY_DELAY,
            )
            self._failing.add(key)
            if self.store.get_revert(user_id, feat_name) is revert:  # not replaced meanwhile
                self._schedule(revert, dt_util.utcnow() + REVERT_RETRY_DELAY)
            return
        self._failing.discard(key)
        # A new timed forward set while this one was being undone stays pending.
        self.store.discard_revert(revert)
        LOGGER.info("Line %s: %s put back as planned", user_id, feat_name)

    async def async_set_forward(
        self,
        line: LineConfig,
        kind: str,
        *,
        enabled: bool,
        destination: str | None,
        until: datetime | None,
    ) -> dict[str, Any]:
        """Set a forward; with ``until``, undo it by itself at that instant.

        ``destination`` and ``until`` must have passed ``validate_forward``. When a timed
        forward is already pending, ``until`` moves its end and the state it goes back to
        stays the one from before the first change; without ``until``, the pending undo
        is cancelled.
        """
        feat_name = FORWARD_FEATURES[kind]
        before: dict[str, Any] = {}

        def change(feature: Feature) -> Feature:
            before.update(_summary(feature))
            if destination is not None:
                if feature.forward is None:
                    raise ServiceValidationError(
                        translation_domain=DOMAIN,
                        translation_key="destination_not_settable",
                        translation_placeholders={"feature": feat_name, "line": line.name},
                    )
                feature = feature.with_destination(destination)
            if enabled and (feature.forward is None or not feature.forward.destination_uri):
                raise ServiceValidationError(
                    translation_domain=DOMAIN,
                    translation_key="destination_missing",
                    translation_placeholders={"line": line.name},
                )
            return feature.with_status(enabled)

        answer = await self.features.async_write_feature(line, feat_name, change)
        if until is not None:
            pending = self.store.get_revert(line.user_id, feat_name)
            revert: Revert = {
                "user_id": line.user_id,
                "feature": feat_name,
                "at": dt_util.as_utc(until).isoformat(),
                "status": pending["status"] if pending else before.get("status", STATUS_INACTIVE),
                "destination": pending["destination"] if pending else before.get("destination"),
            }
            self.store.add_revert(revert)
            self._schedule(revert, until)
        elif self.store.pop_revert(line.user_id, feat_name) is not None:
            # A new setting without ``until`` replaces a pending undo.
            self._cancel(line.user_id, feat_name)
        result: dict[str, Any] = {
            "line": line.name,
            "user_id": line.user_id,
            "feature": feat_name,
            "before": before,
            "after": _summary(answer),
        }
        if until is not None:
            result["until"] = dt_util.as_local(until).isoformat()
        return result

    async def async_save_baseline(self, line: LineConfig) -> int:
        """Snapshot a line's features, as the API has them now, as its baseline; return how many."""
        features = await self._async_read_features(line)
        if not features:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="line_unavailable",
                translation_placeholders={"line": line.name},
            )
        self.store.set_baseline(line.user_id, features)
        return len(features)

    async def async_read_features(self, line: LineConfig) -> dict[str, Feature]:
        """Read a line's features from the API, by featName (raises a translated error)."""
        return await self._async_read_features(line)

    @vtx_exception_handler("read_failed")
    async def _async_read_features(self, line: LineConfig) -> dict[str, Feature]:
        """Read a line's features from the API (not the cache: a push may have been lost)."""
        fresh = await self.features.client.get_features(line.user_id)
        for feature in fresh:
            self.features.async_apply_feature(feature)
        return {feature.name: feature for feature in fresh}

    async def async_reset(self, line: LineConfig) -> list[dict[str, Any]]:
        """Write back every feature that differs from the baseline; return the changes.

        The line's pending timed forwards are cancelled: the baseline is what it goes
        back to.
        """
        baseline = self.store.baselines.get(line.user_id)
        if not baseline:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="no_baseline",
                translation_placeholders={"line": line.name},
            )
        current_features = await self._async_read_features(line)
        for revert in self.store.pop_line_reverts(line.user_id):
            self._cancel(revert["user_id"], revert["feature"])
        changes: list[dict[str, Any]] = []
        for feat_name, saved in baseline.items():
            current = current_features.get(feat_name)
            if current is None or not current.differs_from(saved):
                continue
            data_key = current.data_key

            def change(feature: Feature, saved: dict[str, Any] = saved, data_key: str = data_key) -> Feature:
                body = feature.to_json()
                body["status"] = saved.get("status", body.get("status"))
                if data_key in saved:
                    body[data_key] = saved[data_key]
                return Feature.from_json(body)

            answer = await self.features.async_write_feature(line, feat_name, change)
            changes.append({"feature": feat_name, "before": _summary(current), "after": _summary(answer)})
        return changes
