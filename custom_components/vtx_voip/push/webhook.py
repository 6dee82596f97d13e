"""Reading a push body from the request, at most ``MAX_BODY_BYTES`` (its parsing is ``api.notifications``)."""

from __future__ import annotations

from typing import Final

from aiohttp import web

from ..api.notifications import MAX_BODY_BYTES

__all__ = ["MAX_BODY_BYTES", "BodyTooLarge", "read_body"]

_READ_CHUNK: Final = 64 * 1024


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
