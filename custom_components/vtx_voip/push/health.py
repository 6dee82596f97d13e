"""Push must prove itself, per resource (FEATURE, CALL_LOG, PRESENCE).

A change that reconciliation finds (a poll, the call history, the presence read after a
call) and that no push of that resource brought within ``STALL_GRACE`` marks that
resource's push *silent*: it is polled at its normal interval again, and its
subscription is tried again after ``SILENT_RETRY``. The next push of that resource
clears it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..api.assumptions import RESOURCE_TYPES
from .const import SILENT_RETRY, STALL_GRACE


class PushHealth:
    """Pushes counted per resource; silence declared and cleared."""

    def __init__(
        self,
        hass: HomeAssistant,
        trusted: Callable[[str], bool],
        on_silent: Callable[[str], None],
        on_retry: Callable[[str], None],
        on_cleared: Callable[[str], None],
    ) -> None:
        """Initialise; ``trusted`` says whether a resource is expected to arrive by push."""
        self.hass = hass
        self._trusted = trusted
        self._on_silent = on_silent
        self._on_retry = on_retry
        self._on_cleared = on_cleared
        self.pushes: dict[str, int] = dict.fromkeys(RESOURCE_TYPES, 0)
        # Resource -> when its push was found silent.
        self.silent: dict[str, datetime] = {}
        self._grace: dict[str, CALLBACK_TYPE] = {}
        self._retry: dict[str, CALLBACK_TYPE] = {}

    @callback
    def async_pushed(self, resources: Iterable[str]) -> None:
        """Count a push carrying events of ``resources``; clear their silence."""
        for resource in resources:
            self.pushes[resource] += 1
            if self.silent.pop(resource, None) is not None:
                self._cancel(self._retry, resource)
                self._on_cleared(resource)

    @callback
    def async_found_change(self, resource: str, pushes_then: int | None = None) -> None:
        """Reconciliation found a change of ``resource``: give push a grace period to bring it.

        ``pushes_then``: the push count of the resource when the read that found it began
        (a push arriving during the read brought it), else now.
        """
        if not self._trusted(resource) or resource in self._grace:
            return
        then = self.pushes[resource] if pushes_then is None else pushes_then

        @callback
        def _check(_now: datetime) -> None:
            self._grace.pop(resource, None)
            if self._trusted(resource) and self.pushes[resource] == then:
                self._async_declare_silent(resource)

        self._grace[resource] = async_call_later(self.hass, STALL_GRACE, _check)

    @callback
    def _async_declare_silent(self, resource: str) -> None:
        self.silent[resource] = dt_util.utcnow()
        self._cancel(self._retry, resource)

        @callback
        def _retry(_now: datetime) -> None:
            self._retry.pop(resource, None)
            if self.silent.pop(resource, None) is not None:
                self._on_retry(resource)

        self._retry[resource] = async_call_later(self.hass, SILENT_RETRY, _retry)
        self._on_silent(resource)

    @staticmethod
    def _cancel(timers: dict[str, CALLBACK_TYPE], resource: str) -> None:
        if (cancel := timers.pop(resource, None)) is not None:
            cancel()

    @callback
    def async_stop(self) -> None:
        """Cancel every timer."""
        for timers in (self._grace, self._retry):
            for resource in list(timers):
                self._cancel(timers, resource)

    def diagnostics(self) -> dict[str, object]:
        """Return pushes per resource and which are silent since when."""
        return {
            "pushes": dict(self.pushes),
            "silent": {resource: since.isoformat() for resource, since in self.silent.items()},
        }
