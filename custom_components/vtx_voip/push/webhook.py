"""The push body: its size limit, its envelope and how it is read."""

from __future__ import annotations

from typing import Final

from aiohttp import web
import probatio as vol

from ..api.assumptions import PUSH_CALL_LOG_EVENTS_KEY, PUSH_FEATURE_EVENTS_KEY, PUSH_PRESENCE_EVENTS_KEY

MAX_BODY_BYTES: Final = 1024 * 1024
_READ_CHUNK: Final = 64 * 1024

# The envelope of a push body; entries are parsed tolerantly by the client's parser.
NOTIFICATION_SCHEMA: Final = vol.Schema(
    {
        vol.Required("subscriptionId"): vol.All(str, vol.Length(min=1, max=200)),
        vol.Optional(PUSH_FEATURE_EVENTS_KEY): vol.All(list, vol.Length(max=1000)),
        vol.Optional(PUSH_CALL_LOG_EVENTS_KEY): vol.All(list, vol.Length(max=1000)),
        vol.Optional(PUSH_PRESENCE_EVENTS_KEY): vol.All(list, vol.Length(max=1000)),
    },
    extra=vol.ALLOW_EXTRA,
)


class BodyTooLarge(Exception):
    """A push body over ``MAX_BODY_BYTES``."""


async def read_body(request: web.Request) -> bytes:
    """Read a request body, at most ``MAX_BODY_BYTES``.

    Works for aiohttp requests and for the ``MockRequest`` of cloudhooks (which has no
    ``content_length`` and hands out a new reader on each ``content`` access).
    """
    length = getattr(request, "content_length", None)
    if length is not None and length > MAX_BODY_BYTES:
        raise BodyTooLarge
    stream = request.content
    chunks: list[bytes] = []
    size = 0
    while chunk := await stream.read(_READ_CHUNK):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
