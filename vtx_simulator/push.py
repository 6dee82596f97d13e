"""Push deliveries: each change POSTed, in the wiki's shape, to every matching subscription.

Deliveries run in background tasks (one ordered queue per notification URL), never inside
the request that caused them. Faults: delay, duplicate, drop, malformed feature payloads,
silent resource types (subscriptions accepted, pushes never sent).
A failing delivery is logged and never breaks the simulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
import copy
from dataclasses import dataclass, field
import json
import logging
import time
from typing import Any

import aiohttp

from .assumed import A
from .clock import Clock, format_local_millis
from .const import (
    CHANGE_CREATED,
    CHANGE_MODIFIED,
    FUTURE_EVENT_TIME,
    JSON_INDENT,
    JSON_SEPARATORS,
    MALFORMED_PUSH_KINDS,
    PUSH_CONNECTIONS,
    PUSH_CONTENT_TYPE,
    PUSH_TIMEOUT,
    PUSH_USER_AGENT,
)
from .network import Network
from .state import CallLogCreated, Change, FeatureChange, JsonDict, PresenceChange, SimulatorState

_LOGGER = logging.getLogger(__name__)

# Sends one delivery instead of an HTTP POST: (url, body, headers) -> HTTP status. Tests of
# Home Assistant use it to hand pushes to ``hass_client`` (whose server does not listen).
PushTransport = Callable[[str, bytes, Mapping[str, str]], Awaitable[int]]


def event_of(change: Change, context: JsonDict) -> tuple[str, str, JsonDict]:
    """Return (resourceType, payload key, event) of a change, in the wiki's shapes."""
    event_time = format_local_millis(change.time)
    if isinstance(change, FeatureChange):
        event: JsonDict = {
            "changeType": CHANGE_MODIFIED,
            "feature": change.feature,
            "previousValue": change.previous,
            "eventTime": event_time,
            "context": context,
        }
        return A.RESOURCE_FEATURE, A.PUSH_FEATURE_EVENTS_KEY, event
    if isinstance(change, CallLogCreated):
        event = {"changeType": CHANGE_CREATED, "callLog": change.call_log, "eventTime": event_time, "context": context}
        return A.RESOURCE_CALL_LOG, A.PUSH_CALL_LOG_EVENTS_KEY, event
    # INFERRED (A.PUSH_PRESENCE_EVENTS_KEY / A.PUSH_PRESENCE_OBJECT_KEY): by the pattern above.
    event = {
        "changeType": CHANGE_MODIFIED,
        A.PUSH_PRESENCE_OBJECT_KEY: change.presence,
        "eventTime": event_time,
        "context": context,
    }
    return A.RESOURCE_PRESENCE, A.PUSH_PRESENCE_EVENTS_KEY, event


def malform_event(event: JsonDict, kind: str) -> JsonDict:
    """Return a copy of a feature event spoilt by ``kind`` (one of ``MALFORMED_PUSH_KINDS``).

    ``status-missing``: the feature has no ``status``; ``status-null``: ``null``;
    ``status-number``: ``1``; ``status-list``: ``[status]``; ``status-unknown``: ``"OFF"``;
    ``data-list``: its data block (e.g. ``centralDndData``) is ``[block]`` (``[]`` when it
    had none); ``data-string``: the block's compact JSON text (``""`` when none);
    ``future-event-time``: ``eventTime`` in 2099; ``no-previous-value``: no ``previousValue``.
    """
    if kind not in MALFORMED_PUSH_KINDS:
        raise ValueError(f"unknown malformed push kind {kind!r}: one of {', '.join(MALFORMED_PUSH_KINDS)}")
    bad = copy.deepcopy(event)
    feature: JsonDict = bad["feature"]
    data_key = A.feature_data_key(str(feature.get("featName", "")))
    block = feature.get(data_key)
    match kind:
        case "status-missing":
            feature.pop("status", None)
        case "status-null":
            feature["status"] = None
        case "status-number":
            feature["status"] = 1
        case "status-list":
            feature["status"] = [feature.get("status")]
        case "status-unknown":
            feature["status"] = "OFF"
        case "data-list":
            feature[data_key] = [] if block is None else [block]
        case "data-string":
            feature[data_key] = "" if block is None else json.dumps(block, separators=(",", ":"))
        case "future-event-time":
            bad["eventTime"] = FUTURE_EVENT_TIME
        case _:  # "no-previous-value"
            bad.pop("previousValue", None)
    return bad


def dumps(body: Any) -> str:
    """JSON pretty-printed like the wiki (Jackson's default pretty printer)."""
    return json.dumps(body, indent=JSON_INDENT, separators=JSON_SEPARATORS)


@dataclass(slots=True)
class Delivery:
    """One POST to a notification URL (or its drop), with its outcome."""

    url: str
    subscription_id: str
    resource_type: str
    body: JsonDict
    queued: str
    copy: int = 1
    dropped: bool = False
    done: bool = False
    status: int | None = None
    error: str | None = None
    # When the delivery reaches the receiver's side of the network (monotonic), latency included.
    due: float = 0.0

    def to_json(self) -> JsonDict:
        """Return the control API's JSON form."""
        return {
            "url": self.url,
            "subscriptionId": self.subscription_id,
            "resourceType": self.resource_type,
            "queued": self.queued,
            "copy": self.copy,
            "dropped": self.dropped,
            "done": self.done,
            "status": self.status,
            "error": self.error,
            "body": self.body,
        }


@dataclass(slots=True)
class MalformedPushes:
    """Spoil the next ``count`` FEATURE pushes (``None``: every one, until cleared) by ``kind``."""

    kind: str
    count: int | None = 1

    def __post_init__(self) -> None:
        """Validate."""
        if self.kind not in MALFORMED_PUSH_KINDS:
            raise ValueError(f"unknown malformed push kind {self.kind!r}: one of {', '.join(MALFORMED_PUSH_KINDS)}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (or None: until cleared)")

    def to_json(self) -> JsonDict:
        """Return the control API's JSON form."""
        return {"kind": self.kind, "count": "all" if self.count is None else self.count}


@dataclass(slots=True)
class PushFaults:
    """Fault injection on deliveries.

    ``malformed`` rules apply in the order they were added, one FEATURE push (the body to
    one subscription, duplicates included) consuming one of the first rule's count.
    """

    delay: float = 0.0
    duplicate: bool = False
    drop_count: int = 0
    drop_all: bool = False
    malformed: list[MalformedPushes] = field(default_factory=list)
    # Resource types whose subscriptions are accepted but never delivered (each delivery
    # logged as dropped): a silent push, e.g. PRESENCE whose payload key is only inferred.
    silent: set[str] = field(default_factory=set)

    def take_malformed(self) -> str | None:
        """Return the kind spoiling the next FEATURE push (consuming it), if any."""
        if not self.malformed:
            return None
        rule = self.malformed[0]
        if rule.count is not None:
            rule.count -= 1
            if rule.count == 0:
                self.malformed.pop(0)
        return rule.kind

    def clear(self) -> None:
        """No delay, no duplicate, no drop, no malformed push."""
        self.delay, self.duplicate, self.drop_count, self.drop_all = 0.0, False, 0, False
        self.malformed.clear()
        self.silent.clear()

    def to_json(self) -> JsonDict:
        """Return the control API's JSON form."""
        return {
            "delay": self.delay,
            "duplicate": self.duplicate,
            "drop": "all" if self.drop_all else self.drop_count,
            "malformed": [rule.to_json() for rule in self.malformed],
            "silent": sorted(self.silent),
        }


@dataclass(frozen=True, slots=True)
class _Worker:
    queue: asyncio.Queue[Delivery]
    tasks: list[asyncio.Task[None]]


class PushDispatcher:
    """Turns state changes into deliveries; a listener of ``SimulatorState``."""

    def __init__(
        self,
        clock: Clock,
        timeout: float = PUSH_TIMEOUT,
        transport: PushTransport | None = None,
        network: Network | None = None,
        concurrency: int = 1,
    ) -> None:
        """Initialise (``start`` opens the HTTP session); ``transport`` replaces HTTP.

        ``network`` delays each delivery by its latency (+- jitter) after it was queued;
        deliveries are not held up by one another's delay (a network's latency, not a
        slower sender). ``concurrency`` deliveries per notification URL are in flight at
        most (1 to ``PUSH_CONNECTIONS``): with 1 they arrive strictly in order, with more
        a later one may overtake an earlier one, as from a sender with several threads.
        """
        if not 1 <= concurrency <= PUSH_CONNECTIONS:
            raise ValueError(f"push concurrency must be 1 to {PUSH_CONNECTIONS}")
        self.concurrency = concurrency
        self.clock = clock
        self.timeout = timeout
        self.transport = transport
        self.network = network or Network()
        self.faults = PushFaults()
        self.deliveries: list[Delivery] = []
        self._state: SimulatorState | None = None
        self._session: aiohttp.ClientSession | None = None
        self._workers: dict[str, _Worker] = {}
        self._pending = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._changed = asyncio.Event()

    def attach(self, state: SimulatorState) -> None:
        """Listen to a state's changes (replacing a previous state)."""
        if self._state is not None and self.on_change in self._state.listeners:
            self._state.listeners.remove(self.on_change)
        self._state = state
        state.listeners.append(self.on_change)

    async def start(self) -> None:
        """Open the HTTP session."""
        if self._session is None:
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit_per_host=PUSH_CONNECTIONS))

    async def stop(self) -> None:
        """Cancel pending deliveries and close the session."""
        workers = list(self._workers.values())
        self._workers.clear()
        tasks = [task for worker in workers for task in worker.tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pending = 0
        self._idle.set()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def pending(self) -> int:
        """Deliveries queued or in flight."""
        return self._pending

    @property
    def running(self) -> bool:
        """Whether deliveries are sent."""
        return self._session is not None

    def on_change(self, change: Change) -> None:
        """Queue one delivery per matching subscription (called by the state)."""
        state = self._state
        if state is None or (isinstance(change, PresenceChange) and not state.presence_push_enabled):
            return
        resource_type, key, event = event_of(change, state.context(change.user_id))
        feat_name = change.feature["featName"] if isinstance(change, FeatureChange) else None
        for sub in state.matching_subscriptions(resource_type, change.user_id, feat_name):
            kind = self.faults.take_malformed() if isinstance(change, FeatureChange) else None
            body = {"subscriptionId": sub.id, key: [event if kind is None else malform_event(event, kind)]}
            copies = 2 if self.faults.duplicate else 1
            dropped = resource_type in self.faults.silent or self._take_drop()
            for copy_no in range(1, copies + 1):
                delivery = Delivery(
                    sub.notification_url, sub.id, resource_type, body, format_local_millis(self.clock.now()), copy_no
                )
                delivery.dropped = dropped
                self._queue(delivery)

    def _take_drop(self) -> bool:
        if self.faults.drop_all:
            return True
        if self.faults.drop_count > 0:
            self.faults.drop_count -= 1
            return True
        return False

    def _queue(self, delivery: Delivery) -> None:
        self.deliveries.append(delivery)
        if delivery.dropped:
            delivery.done = True
            self._notify()
            return
        if not self.running:
            delivery.done = True
            delivery.error = "simulator not running"
            self._notify()
            return
        worker = self._workers.get(delivery.url)
        if worker is None:
            queue: asyncio.Queue[Delivery] = asyncio.Queue()
            loop = asyncio.get_running_loop()
            tasks = [
                loop.create_task(self._run(queue), name=f"vtx_simulator push {delivery.url}")
                for _ in range(self.concurrency)
            ]
            worker = self._workers[delivery.url] = _Worker(queue, tasks)
        self._pending += 1
        self._idle.clear()
        delivery.due = time.monotonic() + self.network.delay()
        worker.queue.put_nowait(delivery)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _run(self, queue: asyncio.Queue[Delivery]) -> None:
        while True:
            delivery = await queue.get()
            try:
                await self._deliver(delivery)
            finally:
                delivery.done = True
                self._pending -= 1
                if self._pending <= 0:
                    self._pending = 0
                    self._idle.set()
                self._notify()

    async def _deliver(self, delivery: Delivery) -> None:
        if (travel := delivery.due - time.monotonic()) > 0:
            await asyncio.sleep(travel)
        if self.faults.delay > 0:
            await asyncio.sleep(self.faults.delay)
        headers = {"Content-Type": PUSH_CONTENT_TYPE, "User-Agent": PUSH_USER_AGENT, "Accept": "*/*"}
        data = dumps(delivery.body).encode()
        try:
            async with asyncio.timeout(self.timeout):
                delivery.status = await self._send(delivery.url, data, headers)
        except Exception as err:  # a failing receiver never breaks the simulator
            delivery.error = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            _LOGGER.debug("Push to %s failed", delivery.url, exc_info=True)

    async def _send(self, url: str, data: bytes, headers: Mapping[str, str]) -> int:
        if self.transport is not None:
            return await self.transport(url, data, headers)
        if self._session is None:  # pragma: no cover - stopped while waiting
            raise RuntimeError("simulator stopped")
        async with self._session.post(url, data=data, headers=headers, allow_redirects=False) as response:
            await response.read()
            return response.status

    async def wait_idle(self, within: float = 5.0) -> None:
        """Wait until every queued delivery is done (``TimeoutError`` after ``within`` seconds)."""
        async with asyncio.timeout(within):
            await self._idle.wait()

    async def wait_for(self, count: int, within: float = 5.0) -> list[Delivery]:
        """Wait until at least ``count`` deliveries are done; return the done ones."""
        async with asyncio.timeout(within):
            while True:
                done = [delivery for delivery in self.deliveries if delivery.done]
                if len(done) >= count:
                    return done
                await self._changed.wait()
