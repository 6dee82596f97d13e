"""Exceptions raised by the VTX OpenAPI client. Nothing else escapes the client."""

from __future__ import annotations


class VtxError(Exception):
    """Base of every error raised by the client."""


class VtxConnectionError(VtxError):
    """The API could not be reached: network error, timeout or a 5xx answer."""


class VtxAuthenticationError(VtxError):
    """The API refused the credentials (401) or the application id / source IP (403)."""

    def __init__(self, message: str, *, status: int) -> None:
        """Initialise with the HTTP status that caused it."""
        super().__init__(message)
        self.status = status


class VtxRateLimitError(VtxError):
    """The API answered 429; ``retry_after`` is in seconds when the server gave one.

    ``paused`` is true when the client did not send the request at all, because an
    earlier 429's ``Retry-After`` has not passed yet.
    """

    def __init__(self, message: str, *, retry_after: float | None, paused: bool = False) -> None:
        """Initialise with the server's Retry-After, if any."""
        super().__init__(message)
        self.retry_after = retry_after
        self.paused = paused


class VtxNotFoundError(VtxError):
    """The resource does not exist (404)."""


class VtxRequestError(VtxError):
    """The API rejected the request (a 4xx other than 401, 403, 404 and 429)."""

    def __init__(self, message: str, *, status: int) -> None:
        """Initialise with the HTTP status."""
        super().__init__(message)
        self.status = status


class VtxResponseError(VtxError):
    """The API's answer (or a pushed body) could not be understood."""
