"""Exceptions raised by the VTX OpenAPI client. Nothing else escapes the client."""

from __future__ import annotations


class VtxError(Exception):
    """Base of every error raised by the client."""


class VtxConnectionError(VtxError):
    """The API could not be reached: network error, timeout or a 5xx answer (``status``)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        """Initialise; ``status`` is the HTTP status of a 5xx answer."""
        super().__init__(message)
        self.status = status


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

    def __init__(self, message: str, *, status: int = 404) -> None:
        """Initialise."""
        super().__init__(message)
        self.status = status


class VtxRequestError(VtxError):
    """The API rejected the request (a 4xx other than 401, 403, 404 and 429)."""

    def __init__(self, message: str, *, status: int) -> None:
        """Initialise with the HTTP status."""
        super().__init__(message)
        self.status = status


class VtxResponseError(VtxError):
    """The API's answer (or a pushed body) could not be understood."""


class VtxUnsupportedError(VtxError):
    """An assumed endpoint the platform does not have (404, 405 or 501 on it).

    ``endpoint`` names it (``api.assumptions.ENDPOINT_*``); ``asked`` is false when the
    client did not send the request, because the endpoint was found absent lately.
    """

    def __init__(self, message: str, *, endpoint: str, asked: bool) -> None:
        """Initialise with the endpoint's name."""
        super().__init__(message)
        self.endpoint = endpoint
        self.asked = asked
