"""``Simulator``: the embeddable simulated VTX OpenAPI server (API + control API + push)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Mapping, Sequence
import contextlib
import copy
import logging
from pathlib import Path
import time
from types import TracebackType
from typing import Any, Self, cast

from aiohttp import web

from .app import Api
from .assumed import A
from .clock import Clock, format_local_millis
from .const import (
    API_PREFIX,
    CONTROL_PREFIX,
    DEFAULT_DATA_PATH,
    DEFAULT_HOST,
    DEMO_APPLICATION_ID,
    DEMO_PASSWORD,
    DEMO_USERNAME,
    FEATURE_DND,
    PROFILE_DEFAULT,
    PROFILE_WIKI,
    PROFILES,
    PURGE_INTERVAL,
    PUSH_TIMEOUT,
    SHUTDOWN_TIMEOUT,
    WIKI_ONLY,
)
from .control import Control
from .faults import ApiFault, ApiFaults, FaultKind
from .network import Network
from .push import Delivery, MalformedPushes, PushDispatcher, PushTransport
from .state import JsonDict, SimulatorState, load_data

_LOGGER = logging.getLogger(__name__)


class Simulator:
    """A simulated VTX OpenAPI, embeddable in tests.

    ``data`` is a seed (a mapping, or the path of a JSON file; default: the bundled
    ``data/default.json``). ``port=0`` picks a free port; read ``base_url`` after
    ``start()``. The phone-side methods (``set_dnd``, ``start_call``...) change the state
    and push to matching subscriptions in background tasks; they raise ``SimError`` when
    refused (unknown user: 404, call already in progress: 409, bad value: 400).

    ``profile`` "default" serves every assumption of the integration; "wiki" only what the
    wiki documents: each behaviour of ``const.WIKI_ONLY`` is refused (the call history 404,
    a renewal 405, a PRESENCE subscription 400). ``clock_offset`` (seconds) makes the
    server's clock run ahead (+) or behind (-) the host's; every time the server writes
    (``Date`` header, ``eventTime``, ``expires``, ``modifiedOn``, call times) is on it.
    """

    def __init__(
        self,
        data: Mapping[str, Any] | str | Path | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        clock: Clock | None = None,
        username: str = DEMO_USERNAME,
        password: str = DEMO_PASSWORD,
        application_id: str = DEMO_APPLICATION_ID,
        presence_push: bool = True,
        push_timeout: float = PUSH_TIMEOUT,
        purge_interval: float = PURGE_INTERVAL,
        push_transport: PushTransport | None = None,
        profile: str = PROFILE_DEFAULT,
        clock_offset: float = 0.0,
        latency_ms: float = 0.0,
        jitter_ms: float = 0.0,
        rate_limit: float | None = None,
        version: str | None = None,
        push_concurrency: int = 1,
    ) -> None:
        """Initialise (nothing listens until ``start()``).

        ``version`` replaces the seed's ``buildVersion`` (e.g. "7.8.0.1": from 7.8 on, user
        paths take login names too, see ``assumptions.LOGIN_NAME_MIN_VERSION``).

        ``push_transport`` (``async (url, body, headers) -> status``) replaces the HTTP POST
        of deliveries, e.g. to hand them to Home Assistant's test client. A non-zero
        ``clock_offset`` with a given ``clock`` becomes that clock's skew. ``latency_ms``
        and ``jitter_ms`` delay every API answer and push delivery (latency +- jitter);
        ``rate_limit`` admits that many API requests per second per account and answers
        the others 429 with ``Retry-After`` (see ``network``). ``push_concurrency``
        deliveries per notification URL are in flight at most (1: strictly in order).
        """
        _check_profile(profile)
        if data is None:
            data = DEFAULT_DATA_PATH
        self._seed: JsonDict = load_data(data) if isinstance(data, (str, Path)) else copy.deepcopy(dict(data))
        self.host = host
        self.port = port
        self.clock = clock or Clock(offset=clock_offset)
        if clock is not None and clock_offset:
            clock.skew = clock_offset
        self._profile = profile
        self.username = username
        self.password = password
        self.application_id = application_id
        self._presence_push_default = presence_push
        self._version = version
        self.purge_interval = purge_interval
        self.api_faults = ApiFaults()
        self.network = Network(latency_ms=latency_ms, jitter_ms=jitter_ms, rate_limit=rate_limit)
        self.push = PushDispatcher(self.clock, push_timeout, push_transport, self.network, push_concurrency)
        # The client connections API requests came on (peer address and port).
        self._connections: set[tuple[object, ...]] = set()
        self._counts: Counter[str] = Counter()
        self._path_counts: Counter[str] = Counter()
        self.state = self._new_state()
        self._runner: web.AppRunner | None = None
        self._purge_task: asyncio.Task[None] | None = None
        self.stopping = asyncio.Event()

    def _new_state(self) -> SimulatorState:
        state = SimulatorState(
            self._seed,
            self.clock,
            username=self.username,
            application_id=self.application_id,
            presence_push=self._presence_push_allowed(),
        )
        if self._version is not None:
            state.server_info["buildVersion"] = self._version
        self.push.attach(state)
        return state

    # --- lifecycle ---------------------------------------------------------------------
    def create_app(self) -> web.Application:
        """Build the aiohttp application serving the API and the control API."""
        api = Api(self)
        control = Control(self)
        app = web.Application(middlewares=[api.middleware, control.middleware])
        app.on_response_prepare.append(api.on_response_prepare)
        api.add_routes(app)
        control.add_routes(app)
        return app

    async def start(self) -> None:
        """Listen on ``host:port`` and start the push and purge machinery."""
        if self._runner is not None:
            return
        self.stopping.clear()
        runner = web.AppRunner(self.create_app(), shutdown_timeout=SHUTDOWN_TIMEOUT, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        address = runner.addresses[0]
        self.port = int(address[1])
        await self.push.start()
        self._purge_task = asyncio.get_running_loop().create_task(self._purge_loop(), name="vtx_simulator purge")
        _LOGGER.debug("VTX simulator listening on %s", self.url)

    async def stop(self) -> None:
        """Stop listening, cancel pending deliveries and the purge task."""
        self.stopping.set()
        if self._purge_task is not None:
            self._purge_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._purge_task
            self._purge_task = None
        await self.push.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        """Start."""
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop."""
        await self.stop()

    async def _purge_loop(self) -> None:
        while True:
            await asyncio.sleep(self.purge_interval)
            self.state.purge_expired()

    @property
    def running(self) -> bool:
        """Whether the server listens."""
        return self._runner is not None

    @property
    def url(self) -> str:
        """The server's root, e.g. ``http://127.0.0.1:8099``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API's base URL (what the integration is configured with)."""
        return self.url + API_PREFIX

    @property
    def control_url(self) -> str:
        """The control API's base URL."""
        return self.url + CONTROL_PREFIX

    def reset(self) -> None:
        """Back to the seed: no subscription, call, fault, delivery log or count; clock reset.

        The profile, the clock's skew and the presence-push setting stay.
        """
        self.clock.reset()
        self.api_faults.clear()
        self.clear_push_faults()
        self.clear_deliveries()
        self.reset_request_counts()
        self.state = self._new_state()

    def reseed(self, data: Mapping[str, Any] | str | Path) -> None:
        """Replace the seed (as ``data`` of the constructor), then ``reset()`` to it."""
        self._seed = load_data(data) if isinstance(data, (str, Path)) else copy.deepcopy(dict(data))
        self.reset()

    def dump(self) -> JsonDict:
        """Everything, as the control API's ``state`` shows it."""
        dump = self.state.to_json()
        dump["profile"] = self._profile
        dump["faults"] = self.api_faults.to_json()
        dump["pushFaults"] = self.push.faults.to_json()
        dump["network"] = self.network.to_json()
        return dump

    # --- features ----------------------------------------------------------------------
    def features(self, user_id: int) -> list[JsonDict]:
        """Every feature of a user (copies)."""
        return self.state.list_features(user_id)

    def feature(self, user_id: int, feat_name: str) -> JsonDict:
        """Return a user's feature by featName (a copy)."""
        return self.state.find_feature(user_id, feat_name)

    def set_feature(
        self, user_id: int, feat_name: str, *, status: str | None = None, data: Mapping[str, Any] | None = None
    ) -> bool:
        """Change a feature's status and/or data keys as a phone would; return if it changed."""
        return self.state.update_feature(user_id, feat_name, status=status, data=data)

    def set_dnd(self, user_id: int, on: bool) -> bool:
        """Switch Do Not Disturb from the phone; return if it changed."""
        return self.state.set_dnd(user_id, on)

    async def storm(
        self, user_ids: Sequence[int], rate: float, seconds: float, batch: int = 10
    ) -> list[tuple[int, bool, float, float]]:
        """Toggle the DND of ``user_ids`` in turn, ``rate`` changes a second for ``seconds``.

        For benchmarks: returns each change as (userId, on, when it was made, when the
        network hands its first push to the receiver: made + latency +- jitter), both
        ``time.monotonic()``. Run in a simulator process of its own, that clock is the one
        every process of the machine reads, so a receiver can time each change's arrival.
        """
        if not user_ids or rate <= 0 or seconds <= 0 or batch < 1:
            raise ValueError("a storm needs userIds, a positive rate and duration, and a batch of 1 or more")
        on = {
            user_id: self.state.find_feature(user_id, FEATURE_DND)["status"] == A.STATUS_ACTIVE for user_id in user_ids
        }
        changes: list[tuple[int, bool, float, float]] = []
        deliveries = self.push.deliveries
        loop = asyncio.get_running_loop()
        begin = loop.time()
        total = int(rate * seconds)
        for index in range(0, total, batch):
            for offset in range(min(batch, total - index)):
                user_id = user_ids[(index + offset) % len(user_ids)]
                on[user_id] = not on[user_id]
                made, queued = time.monotonic(), len(deliveries)
                self.state.set_dnd(user_id, on[user_id])
                due = (deliveries[queued].due if len(deliveries) > queued else 0.0) or made
                changes.append((user_id, on[user_id], made, due))
            await asyncio.sleep(max(begin + (index + batch) / rate - loop.time(), 0))
        return changes

    def set_forward(self, user_id: int, kind: str, on: bool, to: str | None = None) -> bool:
        """Switch a forward (unconditional, busy, timeout, not_reachable, unregistered)."""
        return self.state.set_forward(user_id, kind, on, to)

    # --- presence and calls ------------------------------------------------------------
    def presence(self, user_id: int) -> JsonDict:
        """Return a user's presence body."""
        return self.state.get_presence(user_id)

    def set_presence(self, user_id: int, activity: str, enhanced_activity: str) -> bool:
        """Set a user's presence; return if it changed."""
        return self.state.set_presence(user_id, activity, enhanced_activity)

    def start_call(
        self, user_id: int, *, direction: str = "incoming", number: str, dial_number: str | None = None
    ) -> None:
        """Answer a call: presence goes IN_A_CALL."""
        self.state.start_call(user_id, direction, number, dial_number)

    def end_call(self, user_id: int) -> JsonDict:
        """End the call in progress: presence back to NONE, then the call log is recorded and pushed."""
        return self.state.end_call(user_id)

    def make_call(
        self,
        user_id: int,
        *,
        direction: str = "incoming",
        number: str,
        duration: int = 0,
        missed: bool = False,
        dial_number: str | None = None,
    ) -> JsonDict:
        """Record a whole call that just ended (``missed``: unanswered incoming, duration 0)."""
        return self.state.make_call(user_id, direction, number, duration, missed=missed, dial_number=dial_number)

    def call_logs(self, user_id: int) -> list[JsonDict]:
        """Return a user's recorded call logs, newest first."""
        return self.state.call_history(user_id, None, None, len(self.state.call_logs[user_id]), 0)

    # --- subscriptions and clock -------------------------------------------------------
    def subscriptions(self) -> list[JsonDict]:
        """Return the live subscriptions, as the API shows them."""
        self.state.purge_expired()
        return [sub.to_json() for sub in self.state.subscriptions.values()]

    def expire_subscription(self, subscription_id: str) -> None:
        """Make a subscription expire now (404 ``SimError`` if unknown)."""
        self.state.expire_subscription(subscription_id)

    def advance_clock(self, seconds: float) -> None:
        """Move the simulated clock (then purge what expired)."""
        self.clock.advance(seconds)
        self.state.purge_expired()

    def clock_json(self) -> JsonDict:
        """Return the clock, for the control API (``offset``: skew plus advances)."""
        return {
            "now": format_local_millis(self.clock.now()),
            "offset": self.clock.offset,
            "skew": self.clock.skew,
        }

    @property
    def clock_offset(self) -> float:
        """Seconds the server's clock runs ahead (+) or behind (-) the host's (advances aside)."""
        return self.clock.skew

    @clock_offset.setter
    def clock_offset(self, seconds: float) -> None:
        self.clock.skew = seconds
        self.state.purge_expired()

    @property
    def presence_push_enabled(self) -> bool:
        """Whether PRESENCE subscriptions are accepted (and presence changes pushed).

        Always ``False`` in profile "wiki"; setting it takes effect in profile "default".
        """
        return self.state.presence_push_enabled

    @presence_push_enabled.setter
    def presence_push_enabled(self, value: bool) -> None:
        self._presence_push_default = value
        self.state.presence_push_enabled = self._presence_push_allowed()

    def _presence_push_allowed(self) -> bool:
        return self._presence_push_default and not self.refuses("presence_push")

    # --- platform version --------------------------------------------------------------
    @property
    def version(self) -> str:
        """The ``buildVersion`` the server info reports."""
        return str(self.state.server_info.get("buildVersion", ""))

    @version.setter
    def version(self, version: str) -> None:
        """Report another ``buildVersion`` from now on (kept across ``reset``)."""
        self._version = version
        self.state.server_info["buildVersion"] = version

    @property
    def resolves_login_names(self) -> bool:
        """Whether user paths take login names (platform 7.8+)."""
        return bool(A.supports_login_names(self.version))

    # --- profile -----------------------------------------------------------------------
    @property
    def profile(self) -> str:
        """``"default"`` (every assumption served) or ``"wiki"`` (only what the wiki documents)."""
        return self._profile

    @profile.setter
    def profile(self, profile: str) -> None:
        self.set_profile(profile)

    def set_profile(self, profile: str) -> None:
        """Switch profile at once (``ValueError`` if unknown); existing subscriptions stay."""
        _check_profile(profile)
        self._profile = profile
        self.state.presence_push_enabled = self._presence_push_allowed()

    def refuses(self, behaviour: str) -> bool:
        """Whether the profile refuses a behaviour of ``const.WIKI_ONLY`` (e.g. ``"renew"``)."""
        if behaviour not in WIKI_ONLY:
            raise KeyError(behaviour)
        return self._profile == PROFILE_WIKI

    # --- API faults --------------------------------------------------------------------
    def add_fault(
        self,
        kind: FaultKind | str,
        *,
        count: int | None = 1,
        status: int = 503,
        retry_after: float | None = None,
        seconds: float = 0.0,
        method: str | None = None,
        path: str | None = None,
    ) -> ApiFault:
        """Queue a fault for the next ``count`` matching API requests (``None``: until cleared)."""
        fault = ApiFault(cast("FaultKind", kind), count, status, retry_after, seconds, method, path)
        self.api_faults.add(fault)
        return fault

    def fail_next(self, status: int, count: int | None = 1, *, retry_after: float | None = None) -> ApiFault:
        """Make the next ``count`` API requests answer ``status`` (Spring body, ``Retry-After``)."""
        return self.add_fault("status", count=count, status=status, retry_after=retry_after)

    def hang_next(self, seconds: float, count: int | None = 1) -> ApiFault:
        """Make the next ``count`` API requests wait ``seconds`` before being handled."""
        return self.add_fault("hang", count=count, seconds=seconds)

    def malformed_next(self, count: int | None = 1) -> ApiFault:
        """Make the next ``count`` API requests answer 200 with malformed JSON."""
        return self.add_fault("malformed", count=count)

    def lose_next_answer(
        self,
        count: int | None = 1,
        *,
        status: int = 503,
        retry_after: float | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> ApiFault:
        """Handle the next ``count`` matching API requests, then answer ``status`` instead.

        E.g. ``lose_next_answer(method="POST", path="subscriptions")``: the subscription is
        created but the client only sees a 503 (same as ``add_fault("lost_answer", ...)``).
        """
        return self.add_fault(
            "lost_answer", count=count, status=status, retry_after=retry_after, method=method, path=path
        )

    def clear_faults(self) -> None:
        """Drop every API fault."""
        self.api_faults.clear()

    # --- push faults and log -----------------------------------------------------------
    def set_push_delay(self, seconds: float) -> None:
        """Wait ``seconds`` before each delivery."""
        if seconds < 0:
            raise ValueError("delay must not be negative")
        self.push.faults.delay = seconds

    def set_push_duplicate(self, duplicate: bool) -> None:
        """Send every delivery twice."""
        self.push.faults.duplicate = duplicate

    def drop_pushes(self, count: int | None = None) -> None:
        """Drop the next ``count`` deliveries (``None``: all, until cleared)."""
        if count is None:
            self.push.faults.drop_all = True
        elif count < 0:
            raise ValueError("count must not be negative")
        else:
            self.push.faults.drop_count = count

    def malform_pushes(self, kind: str, count: int | None = 1) -> None:
        """Spoil the next ``count`` FEATURE pushes (``None``: every one, until cleared).

        ``kind`` is one of ``push.MALFORMED_PUSH_KINDS``: ``status-missing``,
        ``status-null``, ``status-number``, ``status-list``, ``status-unknown``,
        ``data-list``, ``data-string``, ``future-event-time``, ``no-previous-value`` (see
        ``push.malform_event``). Rules queue up: the next one applies once this one is spent.
        The simulator's state is not spoilt, only what is pushed.
        """
        self.push.faults.malformed.append(MalformedPushes(kind, count))

    def silence_pushes(self, resource_type: str, silent: bool = True) -> None:
        """Accept subscriptions of ``resource_type`` but never deliver their pushes (or deliver again).

        Plays an API that takes a PRESENCE subscription and never pushes (its payload key is
        an inference); each delivery is logged as dropped.
        """
        if resource_type not in A.RESOURCE_TYPES:
            raise ValueError(f"unknown resource type {resource_type!r}: one of {', '.join(A.RESOURCE_TYPES)}")
        if silent:
            self.push.faults.silent.add(resource_type)
        else:
            self.push.faults.silent.discard(resource_type)

    def clear_push_faults(self) -> None:
        """No delay, no duplicate, no drop, no malformed push, no silent resource type."""
        self.push.faults.clear()

    def deliveries(self) -> list[JsonDict]:
        """Return the push log (JSON)."""
        return [delivery.to_json() for delivery in self.push.deliveries]

    def clear_deliveries(self) -> None:
        """Empty the push log."""
        self.push.deliveries.clear()

    async def wait_for_pushes(self, within: float = 5.0) -> None:
        """Wait until every queued delivery is done."""
        await self.push.wait_idle(within)

    async def wait_for_deliveries(self, count: int, within: float = 5.0) -> list[Delivery]:
        """Wait until at least ``count`` deliveries are done (sent, failed or dropped)."""
        return await self.push.wait_for(count, within)

    # --- request counts ----------------------------------------------------------------
    def count_request(self, method: str, template: str, path: str | None = None) -> None:
        """Count one API request (called by the API's middleware)."""
        self._counts[f"{method} {template}"] += 1
        self._path_counts[f"{method} {path or template}"] += 1

    def path_counts(self) -> dict[str, int]:
        """Return the API request counts per "METHOD /openapi/path" (e.g. per user) since the last reset."""
        return dict(sorted(self._path_counts.items()))

    def request_counts(self) -> dict[str, int]:
        """Return the API request counts per "METHOD /openapi/template" since the last reset."""
        return dict(sorted(self._counts.items()))

    def total_requests(self) -> int:
        """Every API request since the last reset."""
        return sum(self._counts.values())

    def reset_request_counts(self) -> None:
        """Start counting again (requests, rate-limited answers and connections)."""
        self._counts.clear()
        self._path_counts.clear()
        self.network.reset()
        self._connections.clear()

    def note_connection(self, request: web.Request) -> None:
        """Note the client connection an API request came on (called by the API's middleware)."""
        transport = request.transport
        peer = transport.get_extra_info("peername") if transport is not None else None
        if peer is not None:
            self._connections.add(tuple(peer))

    def connections(self) -> int:
        """Return how many client connections API requests came on since the last reset."""
        return len(self._connections)

    def rate_limited_count(self) -> int:
        """Return how many API requests the rate limit answered 429 since the last reset."""
        return self.network.rate_limited

    def set_network(
        self, *, latency_ms: float | None = None, jitter_ms: float | None = None, rate_limit: float | None = -1.0
    ) -> None:
        """Change latency, jitter or the rate limit (``rate_limit=None``: no limit; -1: unchanged)."""
        network = self.network
        latency = network.latency_ms if latency_ms is None else latency_ms
        jitter = network.jitter_ms if jitter_ms is None else jitter_ms
        limit = network.rate_limit if rate_limit == -1.0 else rate_limit
        Network.check(latency, jitter, limit)
        network.latency_ms, network.jitter_ms, network.rate_limit = latency, jitter, limit


def _check_profile(profile: str) -> None:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: one of {', '.join(PROFILES)}")
