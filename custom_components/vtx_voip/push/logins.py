"""What an entry's push keeps on disk between runs: the notification URL and the login names learned.

The URL given to the API is kept to clean up on removal. Login names that push contexts
give for the lines scope the FEATURE subscription (``loginNames``); the stays hear each
once a run (``signal_line_login``: a call to one of them is internal). They are saved with
the URL a little later, together (``LOGIN_SAVE_DELAY``), not once per line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ..lines.discovery import signal_line_login
from .const import LOGIN_SAVE_DELAY
from .lifecycle import SubscriptionLifecycle
from .url import url_store


class PushMemory:
    """The entry's push store: the URL and the login names, saved now or a little later."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, lifecycle: SubscriptionLifecycle) -> None:
        """Initialise; the login names live in ``lifecycle`` (its FEATURE scope uses them)."""
        self.hass = hass
        self.entry = entry
        self.lifecycle = lifecycle
        self.stopped = False
        self._store = url_store(hass, entry.entry_id)
        self._pending = False
        # The login names told to the stays this run (each once, not at every push).
        self._told: dict[int, str] = {}

    def _stored(self, url: str) -> dict[str, Any]:
        return {
            "notification_url": url,
            "login_names": {str(uid): login for uid, login in self.lifecycle.login_names.items()},
        }

    async def async_save(self, url: str) -> None:
        """Save the URL given to the API and the login names now (a delayed save still pending is replaced)."""
        self._pending = False
        await self._store.async_save(self._stored(url))

    @callback
    def _async_delay_save(self, url: str) -> None:
        """Save ``LOGIN_SAVE_DELAY`` from now, with what is known then."""
        self._pending = True

        def data() -> dict[str, Any]:
            self._pending = False
            return self._stored(self.lifecycle.notification_url or url)

        self._store.async_delay_save(data, LOGIN_SAVE_DELAY)

    async def async_stop(self) -> None:
        """Write a pending save now: a delayed save must not outlive the run (nor follow the entry's removal)."""
        self.stopped = True
        if self._pending and (url := self.lifecycle.notification_url) is not None:
            await self.async_save(url)

    @callback
    def async_learn(self, logins: Mapping[int, str]) -> None:
        """Keep the login names push contexts give for the lines; tell the stays of new ones."""
        for user_id, login in logins.items():
            if self._told.get(user_id) != login:
                self._told[user_id] = login
                async_dispatcher_send(self.hass, signal_line_login(self.entry.entry_id), user_id, login)
        if all(self.lifecycle.login_names.get(uid) == login for uid, login in logins.items()):
            return
        self.lifecycle.login_names.update(logins)
        if (url := self.lifecycle.notification_url) is not None and not self.stopped:
            self._async_delay_save(url)
