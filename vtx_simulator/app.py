"""The simulated VTX OpenAPI (``/openapi/...``) as aiohttp routes."""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Awaitable, Callable
import contextlib
from http import HTTPStatus
import json
import logging
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .assumed import A
from .clock import format_http_date, format_spring_timestamp, parse_instant
from .const import API_PREFIX, APPLICATION_HEADER, WIKI_ONLY, WWW_AUTHENTICATE
from .faults import MALFORMED_BODY, ApiFault
from .push import dumps
from .state import SimError

if TYPE_CHECKING:
    from .simulator import Simulator

_LOGGER = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """Return a JSON answer pretty-printed like the wiki's."""
    return web.Response(text=dumps(body), status=status, content_type="application/json", headers=headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _int_param(request: web.Request, name: str) -> int:
    value = request.match_info[name]
    try:
        return int(value)
    except ValueError:
        raise SimError(400, f"Failed to convert '{name}' with value '{value}' to a number") from None


def _query_int(request: web.Request, name: str, default: int, minimum: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SimError(400, f"Query parameter '{name}' must be an integer") from None
    if value < minimum:
        raise SimError(400, f"Query parameter '{name}' must be at least {minimum}")
    return value


async def _json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise SimError(415, f"Content-Type '{request.content_type}' is not supported, use 'application/json'")
    text = await request.text()
    if not text.strip():
        raise SimError(400, "Required request body is missing")
    try:
        return json.loads(text)
    except ValueError as err:
        raise SimError(400, f"JSON parse error: {err}") from None


class Api:
    """Handlers of the simulated API, bound to one simulator."""

    def __init__(self, sim: Simulator) -> None:
        """Initialise."""
        self.sim = sim

    def _user_id(self, request: web.Request) -> int:
        """Return the userId of a user path: a number, or (platform 7.8+) a login name.

        INFERRED (A.USER_LOGIN_FEATURES_PATH): a login name where a userId goes; before
        7.8, or for a login the platform does not know, the answer is 404.
        """
        value = request.match_info["user_id"]
        if value.isascii() and value.isdigit():
            return _int_param(request, "user_id")
        if self.sim.resolves_login_names:
            return self.sim.state.line_by_login(value).user_id
        raise SimError(404, f"User {value} not found")

    def error(
        self, request: web.Request, status: int, message: str, headers: dict[str, str] | None = None
    ) -> web.Response:
        """Return an error answer with Spring's default body (A.spring_error_body)."""
        timestamp = format_spring_timestamp(self.sim.clock.now())
        body = A.spring_error_body(status, _reason(status), message, request.path, timestamp)
        return json_response(body, status, headers)

    def _authenticate(self, request: web.Request) -> web.Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        try:
            login, _, password = base64.b64decode(token.strip(), validate=True).decode().partition(":")
        except binascii.Error, UnicodeDecodeError:
            login = password = ""
        sim = self.sim
        if not (
            scheme.lower() == "basic"
            and secrets.compare_digest(login.encode(), sim.username.encode())
            and secrets.compare_digest(password.encode(), sim.password.encode())
        ):
            return self.error(request, 401, "Unauthorized", {"WWW-Authenticate": WWW_AUTHENTICATE})
        # INFERRED (assumptions, "Errors"): a bad application id is answered 403.
        if not secrets.compare_digest(
            request.headers.get(APPLICATION_HEADER, "").encode(), sim.application_id.encode()
        ):
            return self.error(request, 403, "Forbidden")
        return None

    async def on_response_prepare(self, request: web.Request, response: web.StreamResponse) -> None:
        """Date every answer by the simulator's clock (a client reads server time from it)."""
        response.headers["Date"] = format_http_date(self.sim.clock.now())

    def _fault_answer(self, request: web.Request, fault: ApiFault, note: str = "") -> web.Response:
        retry_after = fault.retry_after_header()
        headers = {"Retry-After": retry_after} if retry_after is not None else None
        return self.error(request, fault.status, f"Injected fault: HTTP {fault.status}{note}", headers)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count, inject faults, authenticate and answer Spring-style errors under ``/openapi/``."""
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        sim = self.sim
        resource = request.match_info.route.resource
        template = resource.canonical if resource is not None else request.path
        sim.count_request(request.method, template)
        sim.state.purge_expired()
        fault = sim.api_faults.take(request.method, request.path, template)
        if fault is not None:
            if fault.kind == "status":
                return self._fault_answer(request, fault)
            if fault.kind == "malformed":
                return web.Response(text=MALFORMED_BODY, content_type="application/json")
            if fault.kind == "hang":
                # Hang, but never past the simulator's stop (no request outlives it).
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(fault.seconds):
                        await sim.stopping.wait()
        answer = await self._handle(request, handler)
        if fault is not None and fault.kind == "lost_answer":
            # Done (e.g. the subscription exists), but the client never sees the answer.
            return self._fault_answer(request, fault, " (answer lost)")
        return answer

    async def _handle(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if (refused := self._authenticate(request)) is not None:
            return refused
        try:
            return await handler(request)
        except SimError as err:
            return self.error(request, err.status, err.message)
        except web.HTTPError as exc:
            headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
            message = "Method Not Allowed" if exc.status == 405 else f"No endpoint {request.method} {request.path}"
            return self.error(request, exc.status, message, headers)
        except Exception:
            _LOGGER.exception("Simulator error on %s %s", request.method, request.path)
            return self.error(request, 500, "Internal Server Error")

    def add_routes(self, app: web.Application) -> None:
        """Register the API's routes."""
        base = API_PREFIX.rstrip("/")
        router = app.router
        router.add_get(f"{base}/v1/system/server", self.server)
        router.add_get(f"{base}/v1/users/{{user_id}}/feat", self.user_features)
        router.add_get(f"{base}/v1/feat/{{feature_id}}", self.get_feature)
        router.add_put(f"{base}/v1/feat/{{feature_id}}", self.put_feature)
        router.add_get(f"{base}/v1/users/{{user_id}}/presence", self.presence)
        router.add_get(f"{base}/v1/subscriptions", self.list_subscriptions)
        router.add_post(f"{base}/v1/subscriptions", self.create_subscription)
        router.add_get(f"{base}/v1/subscriptions/{{subscription_id}}", self.get_subscription)
        # INFERRED (A.SUBSCRIPTION_RENEW_METHOD): renewal is a PATCH with A.SUBSCRIPTION_EXPIRES_KEY.
        router.add_route(A.SUBSCRIPTION_RENEW_METHOD, f"{base}/v1/subscriptions/{{subscription_id}}", self.renew)
        router.add_delete(f"{base}/v1/subscriptions/{{subscription_id}}", self.delete_subscription)
        # INFERRED (A.CALL_HISTORY_PATH): no CDR query endpoint is published.
        router.add_get(f"{base}/{A.CALL_HISTORY_PATH.format(user_id='{user_id}')}", self.call_history)

    async def server(self, request: web.Request) -> web.Response:
        """``GET v1/system/server``."""
        return json_response(self.sim.state.server_info)

    async def user_features(self, request: web.Request) -> web.Response:
        """``GET v1/users/{userId}/feat``."""
        return json_response({"features": self.sim.state.list_features(self._user_id(request))})

    async def get_feature(self, request: web.Request) -> web.Response:
        """``GET v1/feat/{id}``."""
        return json_response({"feature": self.sim.state.get_feature(_int_param(request, "feature_id"))})

    async def put_feature(self, request: web.Request) -> web.Response:
        """``PUT v1/feat/{id}`` with the whole feature (no PATCH: 405)."""
        feature_id = _int_param(request, "feature_id")
        self.sim.state.get_feature(feature_id)
        body = await _json_body(request)
        return json_response({"feature": self.sim.state.put_feature(feature_id, body)})

    async def presence(self, request: web.Request) -> web.Response:
        """``GET v1/users/{userId}/presence``."""
        return json_response(self.sim.state.get_presence(self._user_id(request)))

    async def list_subscriptions(self, request: web.Request) -> web.Response:
        """``GET v1/subscriptions``."""
        return json_response({"subscriptions": [sub.to_json() for sub in self.sim.state.subscriptions.values()]})

    async def create_subscription(self, request: web.Request) -> web.Response:
        """``POST v1/subscriptions``."""
        sub = self.sim.state.create_subscription(await _json_body(request))
        return json_response({"subscription": sub.to_json()})

    async def get_subscription(self, request: web.Request) -> web.Response:
        """``GET v1/subscriptions/{id}``."""
        return json_response(
            {"subscription": self.sim.state.get_subscription(request.match_info["subscription_id"]).to_json()}
        )

    async def renew(self, request: web.Request) -> web.Response:
        """``PATCH v1/subscriptions/{id}`` with ``{"expires": ...}`` (profile "wiki": 405)."""
        if self.sim.refuses("renew"):
            resource = request.match_info.route.resource
            routes = list(resource) if resource is not None else []
            allowed = sorted({route.method for route in routes} - {A.SUBSCRIPTION_RENEW_METHOD})
            return self.error(request, WIKI_ONLY["renew"].status, "Method Not Allowed", {"Allow": ",".join(allowed)})
        sub_id = request.match_info["subscription_id"]
        self.sim.state.get_subscription(sub_id)
        sub = self.sim.state.renew_subscription(sub_id, await _json_body(request))
        return json_response({"subscription": sub.to_json()})

    async def delete_subscription(self, request: web.Request) -> web.Response:
        """``DELETE v1/subscriptions/{id}``: 204."""
        self.sim.state.delete_subscription(request.match_info["subscription_id"])
        return web.Response(status=204)

    async def call_history(self, request: web.Request) -> web.Response:
        """Answer a user's call logs (INFERRED, see A.CALL_HISTORY_PATH): a bare array, newest first.

        Profile "wiki": 404, as for any path the API does not serve.
        """
        if self.sim.refuses("call_history"):
            status = WIKI_ONLY["call_history"].status
            return self.error(request, status, f"No endpoint {request.method} {request.path}")
        user_id = self._user_id(request)
        bounds = []
        for name in (A.CALL_HISTORY_PARAM_FROM, A.CALL_HISTORY_PARAM_TO):
            raw = request.query.get(name)
            value = parse_instant(raw) if raw is not None else None
            if raw is not None and value is None:
                raise SimError(400, f"Query parameter '{name}' must be an ISO-8601 instant")
            bounds.append(value)
        # INFERRED (A.CALL_HISTORY_PAGE_SIZE): the page size's default and cap.
        limit = min(
            _query_int(request, A.CALL_HISTORY_PARAM_LIMIT, A.CALL_HISTORY_PAGE_SIZE, 1), A.CALL_HISTORY_PAGE_SIZE
        )
        offset = _query_int(request, A.CALL_HISTORY_PARAM_OFFSET, 0, 0)
        return json_response(self.sim.state.call_history(user_id, bounds[0], bounds[1], limit, offset))
