"""The control API (``/_control/...``, no authentication): act as a phone, inject faults, observe.

Every route answers JSON; a refused command answers ``{"error": "..."}`` with a 4xx status.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .app import json_response
from .const import CONTROL_PREFIX, WIKI_ONLY
from .state import SimError

if TYPE_CHECKING:
    from .simulator import Simulator

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadCommand(ValueError):
    """A control request that cannot be understood."""


def _get(body: dict[str, Any], key: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
    if key not in body or body[key] is None:
        if default is ...:
            raise BadCommand(f"missing '{key}'")
        return default
    value = body[key]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if (isinstance(value, bool) and bool not in kinds) or not isinstance(value, kinds):
        raise BadCommand(f"'{key}' has the wrong type")
    return value


def _number(body: dict[str, Any], key: str, default: Any = ...) -> Any:
    value = _get(body, key, (int, float), default)
    return float(value) if isinstance(value, (int, float)) else value


async def _body(request: web.Request) -> dict[str, Any]:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError as err:
        raise BadCommand(f"invalid JSON: {err}") from None
    if not isinstance(body, dict):
        raise BadCommand("the body must be a JSON object")
    return body


class Control:
    """Handlers of the control API, bound to one simulator."""

    def __init__(self, sim: Simulator) -> None:
        """Initialise."""
        self.sim = sim
        self._storm: asyncio.Task[list[tuple[int, bool, float, float]]] | None = None

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Turn refused commands into ``{"error"}`` answers."""
        if not request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        try:
            return await handler(request)
        except SimError as err:
            return json_response({"error": err.message}, err.status)
        except (BadCommand, ValueError) as err:
            return json_response({"error": str(err)}, 400)
        except web.HTTPError as exc:
            return json_response(
                {"error": exc.reason}, exc.status, {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            )

    def add_routes(self, app: web.Application) -> None:
        """Register the control routes."""
        base = CONTROL_PREFIX.rstrip("/")
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "state", self.state),
            ("GET", "subscriptions", self.subscriptions),
            ("POST", "dnd", self.dnd),
            ("POST", "forward", self.forward),
            ("POST", "feature", self.feature),
            ("POST", "presence", self.presence),
            ("POST", "call/start", self.call_start),
            ("POST", "call/end", self.call_end),
            ("POST", "call", self.call),
            ("GET", "requests", self.requests),
            ("DELETE", "requests", self.reset_requests),
            ("POST", "reset", self.reset),
            ("GET", "faults", self.faults),
            ("POST", "faults", self.add_fault),
            ("DELETE", "faults", self.clear_faults),
            ("GET", "push-faults", self.push_faults),
            ("POST", "push-faults", self.set_push_faults),
            ("DELETE", "push-faults", self.clear_push_faults),
            ("GET", "deliveries", self.deliveries),
            ("DELETE", "deliveries", self.clear_deliveries),
            ("POST", "expire", self.expire),
            ("GET", "clock", self.clock),
            ("POST", "clock", self.advance_clock),
            ("GET", "presence-push", self.presence_push),
            ("POST", "presence-push", self.set_presence_push),
            ("GET", "profile", self.profile),
            ("POST", "profile", self.set_profile),
            ("GET", "version", self.version),
            ("POST", "version", self.set_version),
            ("POST", "storm", self.start_storm),
            ("GET", "storm", self.storm),
        ]
        for method, path, handler in routes:
            app.router.add_route(method, f"{base}/{path}", handler)

    async def start_storm(self, request: web.Request) -> web.Response:
        """``POST storm {"userIds", "rate", "seconds"}``: toggle DND that fast, in the background."""
        body = await _body(request)
        if self._storm is not None and not self._storm.done():
            raise BadCommand("a storm is already running")
        user_ids = _get(body, "userIds", list)
        if not all(type(user_id) is int for user_id in user_ids):
            raise BadCommand("userIds must be integers")
        rate, seconds = _number(body, "rate"), _number(body, "seconds")
        if not user_ids or rate <= 0 or seconds <= 0:
            raise BadCommand("a storm needs userIds and a positive rate and duration")
        for user_id in user_ids:
            self.sim.state.line(user_id)
        self._storm = asyncio.get_running_loop().create_task(self.sim.storm(user_ids, rate, seconds))
        return json_response({"started": True})

    async def storm(self, request: web.Request) -> web.Response:
        """``GET storm``: whether it runs, the deliveries pending, and (once done) its changes."""
        task = self._storm
        if task is None:
            raise BadCommand("no storm was started")
        running = not task.done()
        changes = [] if running else [list(change) for change in task.result()]
        return json_response({"running": running, "pending": self.sim.push.pending, "changes": changes})

    async def state(self, request: web.Request) -> web.Response:
        """``GET state``: a dump of everything."""
        return json_response(self.sim.dump())

    async def subscriptions(self, request: web.Request) -> web.Response:
        """``GET subscriptions``."""
        return json_response({"subscriptions": self.sim.subscriptions()})

    async def dnd(self, request: web.Request) -> web.Response:
        """``POST dnd {"userId", "on"}``."""
        body = await _body(request)
        changed = self.sim.set_dnd(_get(body, "userId", int), _get(body, "on", bool))
        return json_response({"changed": changed})

    async def forward(self, request: web.Request) -> web.Response:
        """``POST forward {"userId", "kind", "on", "to"?}``."""
        body = await _body(request)
        changed = self.sim.set_forward(
            _get(body, "userId", int), _get(body, "kind", str), _get(body, "on", bool), _get(body, "to", str, None)
        )
        return json_response({"changed": changed})

    async def feature(self, request: web.Request) -> web.Response:
        """``POST feature {"userId", "featName", "status"?, "data"?}``."""
        body = await _body(request)
        changed = self.sim.set_feature(
            _get(body, "userId", int),
            _get(body, "featName", str),
            status=_get(body, "status", str, None),
            data=_get(body, "data", dict, None),
        )
        return json_response({"changed": changed})

    async def presence(self, request: web.Request) -> web.Response:
        """``POST presence {"userId", "activity", "enhancedActivity"}``."""
        body = await _body(request)
        user_id = _get(body, "userId", int)
        changed = self.sim.set_presence(user_id, _get(body, "activity", str), _get(body, "enhancedActivity", str))
        return json_response({"changed": changed, "presence": self.sim.presence(user_id)})

    async def call_start(self, request: web.Request) -> web.Response:
        """``POST call/start {"userId", "direction", "number", "dialNumber"?}``."""
        body = await _body(request)
        user_id = _get(body, "userId", int)
        self.sim.start_call(
            user_id,
            direction=_get(body, "direction", str, "incoming"),
            number=_get(body, "number", str),
            dial_number=_get(body, "dialNumber", str, None),
        )
        return json_response({"presence": self.sim.presence(user_id)})

    async def call_end(self, request: web.Request) -> web.Response:
        """``POST call/end {"userId"}``: answers the call log."""
        body = await _body(request)
        return json_response({"callLog": self.sim.end_call(_get(body, "userId", int))})

    async def call(self, request: web.Request) -> web.Response:
        """``POST call {"userId", "direction", "number", "duration", "missed"?, "dialNumber"?}``."""
        body = await _body(request)
        log = self.sim.make_call(
            _get(body, "userId", int),
            direction=_get(body, "direction", str, "incoming"),
            number=_get(body, "number", str),
            duration=_get(body, "duration", int, 0),
            missed=_get(body, "missed", bool, False),
            dial_number=_get(body, "dialNumber", str, None),
        )
        return json_response({"callLog": log})

    async def requests(self, request: web.Request) -> web.Response:
        """``GET requests``: API request counts per "METHOD /template"."""
        return json_response({"total": self.sim.total_requests(), "counts": self.sim.request_counts()})

    async def reset_requests(self, request: web.Request) -> web.Response:
        """``DELETE requests``: reset the counts."""
        self.sim.reset_request_counts()
        return json_response({"total": 0, "counts": {}})

    async def reset(self, request: web.Request) -> web.Response:
        """``POST reset``: back to the seed, no subscription, no fault, no log."""
        self.sim.reset()
        return json_response({"reset": True})

    async def faults(self, request: web.Request) -> web.Response:
        """``GET faults``."""
        return json_response({"faults": self.sim.api_faults.to_json()})

    async def add_fault(self, request: web.Request) -> web.Response:
        """``POST faults {"kind", "count"?, "status"?, "retryAfter"?, "seconds"?, "method"?, "path"?}``.

        ``count`` 0 or null: until cleared.
        """
        body = await _body(request)
        count = _get(body, "count", int, 1)
        retry_after = _number(body, "retryAfter", None)
        self.sim.add_fault(
            _get(body, "kind", str),
            count=count or None,
            status=_get(body, "status", int, 503),
            retry_after=retry_after,
            seconds=_number(body, "seconds", 0.0),
            method=_get(body, "method", str, None),
            path=_get(body, "path", str, None),
        )
        return json_response({"faults": self.sim.api_faults.to_json()})

    async def clear_faults(self, request: web.Request) -> web.Response:
        """``DELETE faults``."""
        self.sim.clear_faults()
        return json_response({"faults": []})

    async def push_faults(self, request: web.Request) -> web.Response:
        """``GET push-faults``."""
        return json_response(self.sim.push.faults.to_json())

    async def set_push_faults(self, request: web.Request) -> web.Response:
        """``POST push-faults {"delay"?, "duplicate"?, "drop"?: N | "all" | 0, "malformed"?, "silent"?}``.

        ``malformed``: ``{"kind", "count"?: N | "all"}`` (or just the kind), queued after
        the malformed rules already there (see ``Simulator.malform_pushes``). ``silent``: the
        resource types whose subscriptions are accepted and never delivered (replacing the
        list; see ``Simulator.silence_pushes``).
        """
        body = await _body(request)
        if "delay" in body:
            self.sim.set_push_delay(_number(body, "delay"))
        if "duplicate" in body:
            self.sim.set_push_duplicate(_get(body, "duplicate", bool))
        if "drop" in body:
            drop = _get(body, "drop", (int, str))
            if isinstance(drop, str) and drop != "all":
                raise BadCommand("'drop' is a count or \"all\"")
            self.sim.drop_pushes(None if drop == "all" else drop)
        if "malformed" in body:
            rule = _get(body, "malformed", (dict, str))
            if isinstance(rule, str):
                rule = {"kind": rule}
            count = _get(rule, "count", (int, str), 1)
            if isinstance(count, str) and count != "all":
                raise BadCommand("'count' is a number or \"all\"")
            self.sim.malform_pushes(_get(rule, "kind", str), None if count == "all" else count)
        if "silent" in body:
            silent = _get(body, "silent", list)
            if not all(isinstance(resource, str) for resource in silent):
                raise BadCommand("'silent' is a list of resource types")
            for resource in list(self.sim.push.faults.silent):
                self.sim.silence_pushes(resource, False)
            for resource in silent:
                self.sim.silence_pushes(resource)
        return json_response(self.sim.push.faults.to_json())

    async def clear_push_faults(self, request: web.Request) -> web.Response:
        """``DELETE push-faults``."""
        self.sim.clear_push_faults()
        return json_response(self.sim.push.faults.to_json())

    async def deliveries(self, request: web.Request) -> web.Response:
        """``GET deliveries``: the push log."""
        return json_response({"deliveries": self.sim.deliveries()})

    async def clear_deliveries(self, request: web.Request) -> web.Response:
        """``DELETE deliveries``."""
        self.sim.clear_deliveries()
        return json_response({"deliveries": []})

    async def expire(self, request: web.Request) -> web.Response:
        """``POST expire {"subscriptionId"}``: the subscription reaches ``expires`` now."""
        body = await _body(request)
        self.sim.expire_subscription(_get(body, "subscriptionId", str))
        return json_response({"expired": True})

    async def clock(self, request: web.Request) -> web.Response:
        """``GET clock``."""
        return json_response(self.sim.clock_json())

    async def advance_clock(self, request: web.Request) -> web.Response:
        """``POST clock {"advance"?: seconds, "skew"?: seconds}`` (at least one).

        ``skew``: how far the server's clock runs ahead (+) or behind (-) the host's.
        """
        body = await _body(request)
        skew = _number(body, "skew", None)
        advance = _number(body, "advance", None if skew is not None else ...)
        if skew is not None:
            self.sim.clock_offset = skew
        if advance is not None:
            self.sim.advance_clock(advance)
        return json_response(self.sim.clock_json())

    async def presence_push(self, request: web.Request) -> web.Response:
        """``GET presence-push``: whether PRESENCE subscriptions are accepted."""
        return json_response({"enabled": self.sim.presence_push_enabled})

    async def set_presence_push(self, request: web.Request) -> web.Response:
        """``POST presence-push {"enabled"}``."""
        body = await _body(request)
        self.sim.presence_push_enabled = _get(body, "enabled", bool)
        return json_response({"enabled": self.sim.presence_push_enabled})

    async def profile(self, request: web.Request) -> web.Response:
        """``GET profile``: ``{"profile", "refused"}`` (the behaviours of WIKI_ONLY refused)."""
        return json_response(self._profile_json())

    async def set_profile(self, request: web.Request) -> web.Response:
        """``POST profile {"profile": "default" | "wiki"}``."""
        body = await _body(request)
        self.sim.set_profile(_get(body, "profile", str))
        return json_response(self._profile_json())

    async def version(self, request: web.Request) -> web.Response:
        """``GET version``: ``{"buildVersion", "loginNames"}`` (whether user paths take login names)."""
        return json_response({"buildVersion": self.sim.version, "loginNames": self.sim.resolves_login_names})

    async def set_version(self, request: web.Request) -> web.Response:
        """``POST version {"buildVersion": "7.8.0.1"}``."""
        body = await _body(request)
        self.sim.version = _get(body, "buildVersion", str)
        return await self.version(request)

    def _profile_json(self) -> dict[str, Any]:
        refused = {
            name: {"status": refusal.status, "assumption": refusal.assumption}
            for name, refusal in WIKI_ONLY.items()
            if self.sim.refuses(name)
        }
        return {"profile": self.sim.profile, "refused": refused}
