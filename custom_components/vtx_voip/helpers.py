"""The one translation of VTX API errors for the calls users start (entities, actions, coordinators)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
import inspect
from typing import Any, Concatenate, Protocol

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from .api import VtxAuthenticationError, VtxError, VtxNotFoundError
from .const import DOMAIN
from .lines.config import LineConfig


class VtxApiCaller(Protocol):
    """What calls the API on a user's behalf: it knows Home Assistant (the line is an argument or its own)."""

    hass: HomeAssistant


def _start_reauth(hass: HomeAssistant, line: LineConfig | None) -> None:
    """Start re-authentication of the entry the line belongs to."""
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        if line is None or line.subentry_id in entry.subentries:
            entry.async_start_reauth(hass)


def vtx_exception_handler[CallerT: VtxApiCaller, **P, R](
    failed: str, *, forbidden: str | None = None, not_found: str | None = None
) -> Callable[
    [Callable[Concatenate[CallerT, P], Coroutine[Any, Any, R]]],
    Callable[Concatenate[CallerT, P], Coroutine[Any, Any, R]],
]:
    """Decorate an API call: the API's errors become translated ``HomeAssistantError``.

    401 starts re-authentication of the line's entry (``auth_failed``); 403 raises
    ``forbidden`` and 404 ``not_found`` (``failed`` when not given); any other API error
    raises ``failed`` with the error. The texts name the line and feature of the call: the
    decorated method's arguments ``line`` and ``feat_name``, else the caller's own ``line``
    and ``entity_description.feature`` (a line entity's). Errors already translated pass.
    """

    def decorator(
        func: Callable[Concatenate[CallerT, P], Coroutine[Any, Any, R]],
    ) -> Callable[Concatenate[CallerT, P], Coroutine[Any, Any, R]]:
        signature = inspect.signature(func)

        async def handler(self: CallerT, /, *args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await func(self, *args, **kwargs)
            except VtxError as err:
                arguments = signature.bind(self, *args, **kwargs).arguments
                line = arguments.get("line", getattr(self, "line", None))
                line = line if isinstance(line, LineConfig) else None
                description = getattr(self, "entity_description", None)
                feature = arguments.get("feat_name", getattr(description, "feature", None))
                placeholders = {"line": line.name if line else "-", "feature": str(feature or "-")}
                if isinstance(err, VtxAuthenticationError) and err.status == 401:
                    _start_reauth(self.hass, line)
                    raise HomeAssistantError(translation_domain=DOMAIN, translation_key="auth_failed") from err
                key = failed
                if isinstance(err, VtxAuthenticationError):  # 403: not allowed
                    key = forbidden or failed
                elif isinstance(err, VtxNotFoundError):
                    key = not_found or failed
                raise HomeAssistantError(
                    translation_domain=DOMAIN,
                    translation_key=key,
                    translation_placeholders={**placeholders, "error": str(err)},
                ) from err

        return handler

    return decorator
