"""An entry's webhook across its runs: pushes are held while no run takes them.

The API keeps pushing while an entry reloads (an options change, a reauth) or sets up
(its first refresh may take seconds): with the webhook unregistered, Home Assistant would
answer those pushes 200 and drop them. The gate is registered once, before anything slow
at set-up, and stays registered between two runs: while no run is open it checks each
push, holds it in memory and answers 200; the next run takes the held pushes over when
it opens. Not opened again within ``HOLD_LIMIT`` (the entry was disabled, or failed to
set up), the gate lets the webhook go. Removing the entry removes it at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from http import HTTPStatus

from aiohttp import web
from aiohttp.hdrs import METH_POST
from homeassistant.components import webhook
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.util.hass_dict import HassKey

from ..api import Notification, NotificationRefused, parse_push_body
from ..const import DOMAIN, LOGGER
from .const import HOLD_LIMIT, MAX_HELD
from .webhook import MAX_BODY_BYTES, BodyTooLarge, read_body

type Receiver = Callable[[Notification], Awaitable[HTTPStatus]]

_GATES: HassKey[dict[str, WebhookGate]] = HassKey(f"{DOMAIN}_push_gates")


class WebhookGate:
    """The webhook of one entry: hands pushes to the open run, or holds them for the next."""

    def __init__(
        self, hass: HomeAssistant, entry_id: str, webhook_id: str, lines: Callable[[], Collection[int]]
    ) -> None:
        """Initialise; ``lines`` gives the entry's configured userIds (while no run is open)."""
        self.hass = hass
        self.entry_id = entry_id
        self.webhook_id = webhook_id
        self.lines = lines
        # Ids of this entry's subscriptions seen in any run (created or found at the API).
        self.known_ids: set[str] = set()
        self.rejected = 0
        self._receiver: Receiver | None = None
        self._held: list[Notification] = []
        self._cancel_release: CALLBACK_TYPE | None = None
        self._cancel_stop: CALLBACK_TYPE | None = None

    def is_ours(self, notification: Notification, lines: Collection[int]) -> bool:
        """Whether a push is for this entry: one of its subscriptions, or about one of its lines.

        A push about a configured line is taken whatever its subscription id (one of an
        earlier run, one being replaced); a push about lines the entry does not have only on
        a subscription of this entry (discovery).
        """
        if notification.subscription_id in self.known_ids:
            return True
        return any(user_id in lines for user_id in notification.lines())

    def reject(self, status: HTTPStatus, message: str, *args: object) -> web.Response:
        """Answer a push that is refused, logged at debug (the sender is not trusted)."""
        self.rejected += 1
        LOGGER.debug(message, *args)
        return web.Response(status=status)

    async def async_handle_webhook(self, hass: HomeAssistant, webhook_id: str, request: web.Request) -> web.Response:
        """Read and check a push; hand it to the open run, or hold it."""
        try:
            raw = await read_body(request)
        except BodyTooLarge:
            return self.reject(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Rejected a push body over %s bytes", MAX_BODY_BYTES
            )
        try:
            notification = parse_push_body(raw)
        except NotificationRefused as err:
            return self.reject(err.status, "Rejected a push body: %s", err)
        if self._receiver is not None:
            return web.Response(status=await self._receiver(notification))
        if not self.is_ours(notification, self.lines()):
            return self.reject(
                HTTPStatus.FORBIDDEN, "Rejected a push for unknown subscription %s", notification.subscription_id
            )
        if len(self._held) >= MAX_HELD:
            return self.reject(HTTPStatus.SERVICE_UNAVAILABLE, "Held %s pushes already; refused one more", MAX_HELD)
        self._held.append(notification)
        return web.Response(status=HTTPStatus.OK)

    @callback
    def async_open(self, receiver: Receiver) -> list[Notification]:
        """Hand pushes to a run from now on; return those held meanwhile (oldest first)."""
        self._cancel_timers()
        self._receiver = receiver
        self.rejected = 0
        held, self._held = self._held, []
        return held

    @callback
    def async_close(self) -> None:
        """Hold pushes for the next run, for at most ``HOLD_LIMIT``."""
        self._receiver = None
        self._cancel_timers()
        self._cancel_release = async_call_later(self.hass, HOLD_LIMIT, self._async_release_later)
        self._cancel_stop = self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._async_stopping)

    @callback
    def _async_stopping(self, _event: Event) -> None:
        self._cancel_stop = None
        self.async_release()

    @callback
    def _async_release_later(self, _now: object) -> None:
        self._cancel_release = None
        if self._receiver is None:
            LOGGER.debug("No run took over the webhook of %s; letting it go", self.entry_id)
            self.async_release()

    def _cancel_timers(self) -> None:
        if self._cancel_release is not None:
            self._cancel_release()
            self._cancel_release = None
        if self._cancel_stop is not None:
            self._cancel_stop()
            self._cancel_stop = None

    @callback
    def async_release(self) -> None:
        """Unregister the webhook and drop what is held."""
        self._cancel_timers()
        self._receiver = None
        self._held.clear()
        gates = self.hass.data.get(_GATES, {})
        if gates.get(self.entry_id) is self:
            del gates[self.entry_id]
            webhook.async_unregister(self.hass, self.webhook_id)


@callback
def async_gate(
    hass: HomeAssistant, entry_id: str, webhook_id: str, title: str, lines: Callable[[], Collection[int]]
) -> WebhookGate:
    """Return the entry's gate, registering its webhook first if no run holds it (pushes held)."""
    gates = hass.data.setdefault(_GATES, {})
    gate = gates.get(entry_id)
    if gate is not None and gate.webhook_id != webhook_id:
        gate.async_release()
        gate = None
    if gate is None:
        gate = gates[entry_id] = WebhookGate(hass, entry_id, webhook_id, lines)
        webhook.async_register(
            hass, DOMAIN, f"VTX VoIP ({title})", webhook_id, gate.async_handle_webhook, allowed_methods=[METH_POST]
        )
    gate.lines = lines
    return gate


@callback
def async_remove_gate(hass: HomeAssistant, entry_id: str) -> None:
    """Let a removed entry's webhook go (nothing when it has none)."""
    if (gate := hass.data.get(_GATES, {}).get(entry_id)) is not None:
        gate.async_release()
