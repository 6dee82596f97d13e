"""Asynchronous client of the VTX VoIP OpenAPI (Communi5 C5). No Home Assistant import."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import email.utils
import json
import math
import socket
import time
from typing import Any, Final
from urllib.parse import quote

import aiohttp
from yarl import URL

from .assumptions import (
    CALL_HISTORY_PAGE_SIZE,
    CALL_HISTORY_PARAM_FROM,
    CALL_HISTORY_PARAM_LIMIT,
    CALL_HISTORY_PARAM_OFFSET,
    CALL_HISTORY_PARAM_TO,
    CALL_HISTORY_PATH,
    ENDPOINT_CALL_HISTORY,
    ENDPOINT_RENEW,
    SUBSCRIPTION_EXPIRES_KEY,
    SUBSCRIPTION_RENEW_METHOD,
    UNSUPPORTED_RETRY,
    UNSUPPORTED_STATUSES,
    USER_LOGIN_FEATURES_PATH,
)
from .exceptions import (
    VtxAuthenticationError,
    VtxConnectionError,
    VtxError,
    VtxNotFoundError,
    VtxRateLimitError,
    VtxRequestError,
    VtxResponseError,
    VtxUnsupportedError,
)
from .models import (
    CallLog,
    Feature,
    Presence,
    ServerInfo,
    Subscription,
    format_datetime,
    parse_call_log_list,
    parse_feature_envelope,
    parse_feature_list_checked,
    parse_subscription_envelope,
    parse_subscription_list,
)

DEFAULT_BASE_URL: Final = "https://api.ipvoip.ch/openapi/"
DEFAULT_TIMEOUT: Final = 10.0
APPLICATION_HEADER: Final = "X-C5-Application"
# A body larger than this is not an answer of this API.
MAX_BODY_BYTES: Final = 4 * 1024 * 1024
READ_CHUNK: Final = 64 * 1024


def normalize_base_url(url: str) -> URL:
    """Return the API's base URL with one trailing slash; raise ``ValueError`` if invalid."""
    parsed = URL(url.strip())
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"not an http(s) URL: {url!r}")
    path = parsed.path if parsed.path.endswith("/") else parsed.path + "/"
    return parsed.with_path(path).with_query(None).with_fragment(None)


async def _read_limited(stream: aiohttp.StreamReader) -> bytes:
    """Read a body to its end, or to one byte past ``MAX_BODY_BYTES``."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        chunk = await stream.read(READ_CHUNK)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def _parse_http_date(value: str | None) -> datetime | None:
    """Parse an HTTP ``Date`` header (RFC 9110); ``None`` when absent or not one."""
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except TypeError, ValueError, IndexError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class FeatureRead:
    """One read of a user's features.

    ``invalid`` names the features the answer listed in a form that cannot be trusted (no
    valid status, a malformed data block): they are to be left as they were, not guessed.
    ``server_time`` is the server's ``Date`` header, when it sent one.
    """

    features: tuple[Feature, ...]
    invalid: frozenset[str]
    server_time: datetime | None


def _error_message(status: int, text: str) -> str:
    """Return a short message from an error body (Spring's ``message``/``error`` when present)."""
    try:
        body = json.loads(text)
    except ValueError, RecursionError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "error"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return f"HTTP {status}: {value[:200]}"
    return f"HTTP {status}"


class VtxClient:
    """Client of one VTX OpenAPI account.

    Every request carries HTTP Basic authentication, the ``X-C5-Application`` header and
    JSON content type, under a per-request timeout. Only ``VtxError`` subclasses escape.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        username: str,
        password: str,
        application_id: str,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        """Initialise; ``base_url`` must be an http(s) URL (``ValueError`` otherwise)."""
        self._session = session
        self._base_url = normalize_base_url(base_url)
        self._timeout = request_timeout
        token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._headers = {
            "Authorization": f"Basic {token}",
            APPLICATION_HEADER: application_id,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self.request_count = 0
        # After a 429 with Retry-After, no request is sent before this (monotonic) time.
        self._paused_until = 0.0
        # After a 401 no request is sent at all: the credentials are refused, and sending
        # them again and again risks a lockout. A new client (after re-authentication) starts clean.
        self._refused: VtxAuthenticationError | None = None
        # Assumed endpoints found absent: name -> (monotonic time found, wall time found).
        self._unsupported: dict[str, tuple[float, datetime]] = {}
        # How far the server's clock (its Date header) runs ahead of this machine's.
        self._server_offset = timedelta()

    @property
    def base_url(self) -> str:
        """The normalised base URL."""
        return str(self._base_url)

    @property
    def credentials_refused(self) -> bool:
        """Whether the API answered 401 (no request is sent any more)."""
        return self._refused is not None

    def server_now(self) -> datetime:
        """Return the server's current time, as its last ``Date`` header tells (this clock before any).

        Times the server checks against its own clock (a subscription's ``expires``) are
        computed from this, so a server clock behind this machine's never refuses them.
        """
        return datetime.now(UTC) + self._server_offset

    def pause_remaining(self) -> float:
        """Seconds left of a pause asked for by a 429 (0 when none)."""
        return max(0.0, self._paused_until - time.monotonic())

    def unsupported_endpoints(self) -> dict[str, dict[str, str]]:
        """Return the assumed endpoints found absent: since when, and when they are asked again."""
        return {
            name: {
                "since": since.isoformat(),
                "next_try": (since + UNSUPPORTED_RETRY).isoformat(),
            }
            for name, (_found, since) in self._unsupported.items()
        }

    async def _assumed(self, endpoint: str, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request to an assumed endpoint; absent on this platform: ``VtxUnsupportedError``.

        Once found absent it is not asked again before ``UNSUPPORTED_RETRY`` has passed.
        """
        if (found := self._unsupported.get(endpoint)) is not None:
            if time.monotonic() - found[0] < UNSUPPORTED_RETRY.total_seconds():
                raise VtxUnsupportedError(
                    f"{endpoint} is not available on this platform", endpoint=endpoint, asked=False
                )
            del self._unsupported[endpoint]
        try:
            return await self._request(method, path, **kwargs)
        except (VtxNotFoundError, VtxRequestError, VtxConnectionError) as err:
            status = getattr(err, "status", None)
            if status not in UNSUPPORTED_STATUSES:
                raise
            self._unsupported[endpoint] = (time.monotonic(), datetime.now(UTC))
            raise VtxUnsupportedError(
                f"{endpoint} is not available on this platform (HTTP {status})", endpoint=endpoint, asked=True
            ) from err

    def _check_may_send(self) -> None:
        if self._refused is not None:
            raise VtxAuthenticationError(str(self._refused), status=401)
        if (remaining := self.pause_remaining()) > 0:
            raise VtxRateLimitError(
                f"The VTX API asked to wait; {remaining:.0f} s left", retry_after=remaining, paused=True
            )

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Any:
        """Send one request; return the decoded JSON body (``None`` when empty)."""
        body, _server_time = await self._request_timed(method, path, json_body=json_body, params=params)
        return body

    async def _request_timed(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> tuple[Any, datetime | None]:
        """Send one request; return the decoded body and the server's time (its ``Date`` header).

        The server's time lets answers be ordered against pushed ``eventTime`` values on
        the server's own clock, never against this machine's.
        """
        self._check_may_send()
        url = self._base_url.join(URL(path))
        data = None if json_body is None else json.dumps(json_body)
        self.request_count += 1
        try:
            async with asyncio.timeout(self._timeout):
                async with self._session.request(
                    method, url, headers=self._headers, data=data, params=params, allow_redirects=False
                ) as response:
                    raw = await _read_limited(response.content)
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
                    date_header = response.headers.get("Date")
        except TimeoutError as err:
            raise VtxConnectionError(f"Timeout after {self._timeout} s talking to the VTX API") from err
        except (aiohttp.ClientError, socket.gaierror, OSError) as err:
            raise VtxConnectionError(f"Error talking to the VTX API: {type(err).__name__}") from err
        except ValueError as err:  # e.g. an invalid URL built from user input
            raise VtxConnectionError(f"Invalid request to the VTX API: {err}") from err
        if len(raw) > MAX_BODY_BYTES:
            raise VtxResponseError("The VTX API sent an oversized answer")
        text = raw.decode("utf-8", errors="replace")
        try:
            self._raise_for_status(status, text, retry_after)
        except VtxRateLimitError as err:
            if err.retry_after:
                self._paused_until = max(self._paused_until, time.monotonic() + err.retry_after)
            raise
        except VtxAuthenticationError as err:
            if err.status == 401:
                self._refused = err
            raise
        server_time = _parse_http_date(date_header)
        if server_time is not None:
            self._server_offset = server_time - datetime.now(UTC)
        if not raw.strip():
            return None, server_time
        try:
            return json.loads(text), server_time
        except ValueError as err:
            raise VtxResponseError(f"The VTX API sent invalid JSON (HTTP {status})") from err
        except RecursionError as err:  # a body nested deeper than the decoder's stack allows
            raise VtxResponseError(f"The VTX API sent JSON nested too deeply (HTTP {status})") from err

    @staticmethod
    def _raise_for_status(status: int, text: str, retry_after: str | None) -> None:
        if status < 300:
            return
        message = _error_message(status, text)
        if status in (401, 403):
            raise VtxAuthenticationError(message, status=status)
        if status == 404:
            raise VtxNotFoundError(message, status=404)
        if status == 429:
            raise VtxRateLimitError(message, retry_after=_retry_after(retry_after))
        if status >= 500:
            raise VtxConnectionError(message, status=status)
        if status >= 400:
            raise VtxRequestError(message, status=status)
        raise VtxResponseError(f"Unexpected HTTP {status} from the VTX API")

    @staticmethod
    def _parse[T](parser: Callable[[Any], T], body: Any) -> T:
        try:
            result = parser(body)
        except VtxError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, RecursionError) as err:
            raise VtxResponseError(f"Unexpected answer from the VTX API: {err}") from err
        return result

    # --- system ----------------------------------------------------------------------
    async def get_server_info(self) -> ServerInfo:
        """``GET v1/system/server``: also the cheapest credentials check."""
        body = await self._request("GET", "v1/system/server")
        return self._parse(ServerInfo.from_json, body)

    # --- features --------------------------------------------------------------------
    async def get_features(self, user_id: int) -> list[Feature]:
        """``GET v1/users/{id}/feat``: every valid feature of a user."""
        return list((await self.read_features(user_id)).features)

    async def read_features(self, user_id: int) -> FeatureRead:
        """``GET v1/users/{id}/feat``: the valid features, the invalid ones, the server's time."""
        body, server_time = await self._request_timed("GET", f"v1/users/{int(user_id)}/feat")
        features, invalid = self._parse(parse_feature_list_checked, body)
        return FeatureRead(features=tuple(features), invalid=invalid, server_time=server_time)

    async def read_features_by_login(self, login: str) -> FeatureRead:
        """``GET v1/users/{loginName}/feat`` (platform 7.8+, see ``assumptions``): as ``read_features``."""
        path = USER_LOGIN_FEATURES_PATH.format(login=quote(login, safe="@"))
        body, server_time = await self._request_timed("GET", path)
        features, invalid = self._parse(parse_feature_list_checked, body)
        return FeatureRead(features=tuple(features), invalid=invalid, server_time=server_time)

    async def resolve_login(self, login: str) -> int:
        """Return the userId of a login name, read from its features (platform 7.8+).

        Raises ``VtxNotFoundError`` when the platform does not know the login (or does not
        resolve login names at all), or its features name no userId.
        """
        read = await self.read_features_by_login(login)
        user_ids = {feature.user_id for feature in read.features}
        if len(user_ids) != 1:
            raise VtxNotFoundError(f"No single line found for a login name ({len(user_ids)} userIds)", status=404)
        return user_ids.pop()

    async def get_feature(self, feature_id: int) -> Feature:
        """``GET v1/feat/{id}``."""
        body = await self._request("GET", f"v1/feat/{int(feature_id)}")
        return self._parse(parse_feature_envelope, body)

    async def put_feature(self, feature: Feature) -> Feature:
        """``PUT v1/feat/{id}`` with the whole feature JSON; return the API's answer.

        The API has no PATCH for features: read, change, then write back the whole object.
        """
        body = await self._request("PUT", f"v1/feat/{feature.id}", json_body=feature.to_json())
        if body is None:
            return feature
        return self._parse(parse_feature_envelope, body)

    # --- presence --------------------------------------------------------------------
    async def get_presence(self, user_id: int) -> Presence:
        """``GET v1/users/{id}/presence``."""
        body = await self._request("GET", f"v1/users/{int(user_id)}/presence")
        return self._parse(Presence.from_json, body)

    # --- subscriptions ---------------------------------------------------------------
    async def get_subscriptions(self) -> list[Subscription]:
        """``GET v1/subscriptions``: this account's subscriptions."""
        body = await self._request("GET", "v1/subscriptions")
        if body is None:
            return []
        return self._parse(parse_subscription_list, body)

    async def create_subscription(
        self,
        *,
        resource_type: str,
        notification_url: str,
        expires: datetime,
        user_ids: list[int] | None = None,
        login_names: list[str] | None = None,
        enterprise_names: list[str] | None = None,
        resource_names: list[str] | None = None,
    ) -> Subscription:
        """``POST v1/subscriptions``."""
        payload: dict[str, Any] = {
            "expires": format_datetime(expires),
            "notificationUrl": notification_url,
            "resourceType": resource_type,
        }
        if resource_names:
            payload["resourceNames"] = list(resource_names)
        if user_ids:
            payload["userIds"] = [int(user_id) for user_id in user_ids]
        if login_names:
            payload["loginNames"] = list(login_names)
        if enterprise_names:
            payload["enterpriseNames"] = list(enterprise_names)
        body = await self._request("POST", "v1/subscriptions", json_body=payload)
        return self._parse(parse_subscription_envelope, body)

    async def renew_subscription(self, subscription_id: str, expires: datetime) -> Subscription | None:
        """Extend a subscription (INFERRED: ``PATCH v1/subscriptions/{id}`` with ``expires``).

        Raises ``VtxNotFoundError`` when the subscription is gone. Returns ``None`` when
        the API answered without a body.
        """
        path = f"v1/subscriptions/{quote(subscription_id, safe='')}"
        try:
            body = await self._assumed(
                ENDPOINT_RENEW,
                SUBSCRIPTION_RENEW_METHOD,
                path,
                json_body={SUBSCRIPTION_EXPIRES_KEY: format_datetime(expires)},
            )
        except VtxUnsupportedError as err:
            # A 404 on a renewal means the subscription is gone (the renewal exists).
            if isinstance(err.__cause__, VtxNotFoundError):
                self._unsupported.pop(ENDPOINT_RENEW, None)
                raise err.__cause__ from None
            raise
        if body is None:
            return None
        return self._parse(parse_subscription_envelope, body)

    async def delete_subscription(self, subscription_id: str) -> None:
        """``DELETE v1/subscriptions/{id}``; ``VtxNotFoundError`` if it is already gone."""
        await self._request("DELETE", f"v1/subscriptions/{quote(subscription_id, safe='')}")

    # --- call history ----------------------------------------------------------------
    async def get_call_history(
        self,
        user_id: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int = CALL_HISTORY_PAGE_SIZE,
        offset: int = 0,
    ) -> list[CallLog]:
        """One page of a user's call history (endpoint INFERRED, see ``assumptions``)."""
        params = {
            CALL_HISTORY_PARAM_LIMIT: str(max(1, min(limit, CALL_HISTORY_PAGE_SIZE))),
            CALL_HISTORY_PARAM_OFFSET: str(max(0, offset)),
        }
        if start is not None:
            params[CALL_HISTORY_PARAM_FROM] = format_datetime(start)
        if end is not None:
            params[CALL_HISTORY_PARAM_TO] = format_datetime(end)
        body = await self._assumed(
            ENDPOINT_CALL_HISTORY, "GET", CALL_HISTORY_PATH.format(user_id=int(user_id)), params=params
        )
        if body is None:
            return []
        return self._parse(parse_call_log_list, body)

    async def get_all_call_history(
        self,
        user_id: int,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        max_pages: int = 50,
    ) -> list[CallLog]:
        """Every call of a user between two instants, following pages (bounded)."""
        calls: list[CallLog] = []
        seen: set[str] = set()
        for page in range(max_pages):
            batch = await self.get_call_history(
                user_id, start=start, end=end, limit=CALL_HISTORY_PAGE_SIZE, offset=page * CALL_HISTORY_PAGE_SIZE
            )
            for call in batch:
                if call.id not in seen:
                    seen.add(call.id)
                    calls.append(call)
            if len(batch) < CALL_HISTORY_PAGE_SIZE:
                break
        return calls
