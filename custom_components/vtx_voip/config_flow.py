"""Config flow of the VTX VoIP integration: the account, its lines as sub-entries."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from types import MappingProxyType
from typing import Any, Final

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryData,
    ConfigSubentryFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
import probatio as vol

from .api import (
    ServerInfo,
    VtxAuthenticationError,
    VtxClient,
    VtxConnectionError,
    VtxError,
    VtxNotFoundError,
    VtxRateLimitError,
    VtxRequestError,
    VtxResponseError,
    normalize_base_url,
)
from .api.lines import LineError, entries_text, parse_lines, resolve_lines
from .api.numbers import default_line_name, format_number, number_of_login, parse_line_ref
from .const import (
    CONF_APPLICATION_ID,
    CONF_LINE_NAME,
    CONF_LOGIN_NAME,
    CONF_NUMBER,
    CONF_SIP_DOMAIN,
    CONF_USER_ID,
    CONF_USER_IDS,
    CONF_WEBHOOK_ID,
    DEFAULT_URL,
    DOMAIN,
    EXAMPLE_LOGIN,
    LOGGER,
    REQUEST_TIMEOUT,
    SUBENTRY_TYPE_LINE,
    USER_ID_HELP_URL,
)
from .lines.discovery import (
    DISCOVERY_ENTRY_ID,
    DISCOVERY_LOGIN,
    DISCOVERY_USER_ID,
    async_learn_sip_domain,
    configured_user_ids,
    discovery_unique_id,
    sip_domain,
)
from .options_flow import VtxOptionsFlow

# Where the help texts send a user who needs a line's userId (no URL in strings).
# The errors naming lines always get every placeholder they use (empty until they show).
USER_ID_PLACEHOLDERS: Final = {
    "user_id_help_url": USER_ID_HELP_URL,
    "example_login": EXAMPLE_LOGIN,
    "lines": "",
    "version": "",
    "logins": "",
}

_URL_SELECTOR: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.URL, autocomplete="url"))
_TEXT: Final = TextSelector()
_PASSWORD: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password"))

USER_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_URL, default=DEFAULT_URL): _URL_SELECTOR,
        vol.Required(CONF_USERNAME): TextSelector(
            TextSelectorConfig(type=TextSelectorType.TEXT, autocomplete="username")
        ),
        vol.Required(CONF_PASSWORD): _PASSWORD,
        vol.Required(CONF_APPLICATION_ID): _TEXT,
    }
)
REAUTH_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_PASSWORD): _PASSWORD,
        vol.Required(CONF_APPLICATION_ID): _TEXT,
    }
)
LINES_SCHEMA: Final = vol.Schema(
    {vol.Required(CONF_USER_IDS): TextSelector(TextSelectorConfig(type=TextSelectorType.TEXT, multiline=True))}
)
# The line: a userId, phone number or login name (a text field: nothing is pre-filled).
LINE_SCHEMA: Final = vol.Schema({vol.Required(CONF_USER_ID): _TEXT, vol.Optional(CONF_LINE_NAME): _TEXT})
DISCOVERY_SCHEMA: Final = vol.Schema({vol.Optional(CONF_LINE_NAME): _TEXT})
# Values the help texts show: hassfest keeps URLs out of strings.json, and the frontend
# renders texts as Markdown, where a login like an e-mail address would become a mailto
# link (inline code keeps it as typed).
ACCOUNT_PLACEHOLDERS: Final = {"default_url": DEFAULT_URL, "example_username": "`openapi@123456.bus.ent`"}


def _client(hass: HomeAssistant, data: Mapping[str, Any]) -> VtxClient:
    """Build a client; raises ValueError for an invalid URL."""
    return VtxClient(
        async_get_clientsession(hass),
        username=data[CONF_USERNAME],
        password=data[CONF_PASSWORD],
        application_id=data[CONF_APPLICATION_ID],
        base_url=data[CONF_URL],
        request_timeout=REQUEST_TIMEOUT,
    )


async def _validate_account(hass: HomeAssistant, data: Mapping[str, Any]) -> tuple[str | None, ServerInfo | None]:
    """Check credentials with the server-info call; return an error key or the server info."""
    try:
        server = await _client(hass, data).get_server_info()
    except ValueError:
        return "invalid_url", None
    except VtxAuthenticationError:
        return "invalid_auth", None
    except VtxConnectionError, VtxRateLimitError, VtxResponseError, VtxNotFoundError, VtxRequestError:
        return "cannot_connect", None
    except Exception:  # noqa: BLE001 - the flow must answer whatever happens
        LOGGER.exception("Unexpected error while checking the VTX account")
        return "unknown", None
    return None, server


def line_data(user_id: int, name: str, number: str | None, login: str | None = None) -> dict[str, Any]:
    """Return the data of a line sub-entry: userId and name, the number and login name when known."""
    data: dict[str, Any] = {CONF_USER_ID: user_id, CONF_LINE_NAME: name}
    if number:
        data[CONF_NUMBER] = number
    if login:
        data[CONF_LOGIN_NAME] = login
    return data


class VtxVoipConfigFlow(ConfigFlow, domain=DOMAIN):
    """The account: URL and credentials, then its lines."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Initialise."""
        self._account: dict[str, Any] = {}
        self._server: ServerInfo | None = None
        self._discovered: dict[str, Any] = {}

    @classmethod
    @callback
    def async_get_supported_subentry_types(cls, config_entry: ConfigEntry) -> dict[str, type[ConfigSubentryFlow]]:
        """Lines are sub-entries."""
        return {SUBENTRY_TYPE_LINE: LineSubentryFlowHandler}

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> VtxOptionsFlow:
        """Options: the settings (push base URL) and the tariffs."""
        return VtxOptionsFlow()

    @staticmethod
    def _account_input(user_input: Mapping[str, Any]) -> dict[str, Any]:
        data = {key: str(value).strip() for key, value in user_input.items()}
        data[CONF_PASSWORD] = str(user_input[CONF_PASSWORD])
        if CONF_URL in data:
            with suppress(ValueError):  # an invalid URL is reported by the validation
                data[CONF_URL] = str(normalize_base_url(data[CONF_URL]))
        return data

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the account."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data = self._account_input(user_input)
            await self.async_set_unique_id(data[CONF_USERNAME].lower())
            self._abort_if_unique_id_configured()
            error, server = await _validate_account(self.hass, data)
            if error is None:
                self._account, self._server = data, server
                return await self.async_step_lines()
            errors["base"] = error
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
            description_placeholders=ACCOUNT_PLACEHOLDERS,
        )

    async def async_step_lines(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the lines (userIds, numbers or login names), find and check each."""
        errors: dict[str, str] = {}
        placeholders = dict(USER_ID_PLACEHOLDERS)
        if user_input is not None:
            entries, bad = parse_lines(user_input[CONF_USER_IDS])
            if bad:
                errors[CONF_USER_IDS] = "invalid_user_ids"
                placeholders["lines"] = ", ".join(bad)
            elif not entries:
                errors[CONF_USER_IDS] = "no_user_ids"
            elif taken := [ref for ref, _name in entries if ref.user_id in configured_user_ids(self.hass)]:
                errors[CONF_USER_IDS] = "user_ids_configured"
                placeholders["lines"] = entries_text(taken)
            else:
                result = await resolve_lines(
                    _client(self.hass, self._account),
                    self._server,
                    entries,
                    sip_domain(None),
                    configured_user_ids(self.hass),
                )
                if result.error is not None:
                    errors["base" if result.base else CONF_USER_IDS] = result.error.value
                    placeholders.update(result.placeholders)
                else:
                    data = {**self._account, CONF_WEBHOOK_ID: webhook.async_generate_id()}
                    if result.domain is not None:
                        data[CONF_SIP_DOMAIN] = result.domain
                    return self.async_create_entry(
                        title=self._account[CONF_USERNAME],
                        data=data,
                        subentries=[
                            ConfigSubentryData(
                                data=line_data(user_id, name, number, result.logins.get(user_id)),
                                subentry_type=SUBENTRY_TYPE_LINE,
                                title=name,
                                unique_id=str(user_id),
                            )
                            for user_id, (name, number) in result.lines.items()
                        ],
                    )
        return self.async_show_form(
            step_id="lines",
            data_schema=self.add_suggested_values_to_schema(LINES_SCHEMA, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    # --- lines found in enterprise-wide pushes -----------------------------------------
    async def async_step_integration_discovery(self, discovery_info: Mapping[str, Any]) -> ConfigFlowResult:
        """Offer to add a line of the enterprise that a push named and no entry has."""
        try:
            user_id = int(discovery_info[DISCOVERY_USER_ID])
            entry_id = str(discovery_info[DISCOVERY_ENTRY_ID])
        except KeyError, TypeError, ValueError:
            return self.async_abort(reason="not_a_line")
        await self.async_set_unique_id(discovery_unique_id(user_id))
        self._abort_if_unique_id_configured()  # ignored before
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            return self.async_abort(reason="account_gone")
        if user_id in configured_user_ids(self.hass):
            return self.async_abort(reason="line_configured")
        login = discovery_info.get(DISCOVERY_LOGIN)
        number = number_of_login(login if isinstance(login, str) else None)
        self._discovered = {"entry_id": entry_id, CONF_USER_ID: user_id, CONF_NUMBER: number}
        self.context["title_placeholders"] = {"name": format_number(number) if number else str(user_id)}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add the discovered line to the account whose push named it (no new entry)."""
        user_id: int = self._discovered[CONF_USER_ID]
        number: str | None = self._discovered[CONF_NUMBER]
        entry = self.hass.config_entries.async_get_entry(self._discovered["entry_id"])
        if entry is None:
            return self.async_abort(reason="account_gone")
        if user_input is not None:
            if user_id in configured_user_ids(self.hass):
                return self.async_abort(reason="line_configured")
            name = str(user_input.get(CONF_LINE_NAME) or "").strip() or default_line_name(user_id, number)
            self.hass.config_entries.async_add_subentry(
                entry,
                ConfigSubentry(
                    data=MappingProxyType(line_data(user_id, name, number)),
                    subentry_type=SUBENTRY_TYPE_LINE,
                    title=name,
                    unique_id=str(user_id),
                ),
            )
            return self.async_abort(reason="line_added", description_placeholders={"name": name})
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=DISCOVERY_SCHEMA,
            description_placeholders={
                "number": format_number(number) if number else "-",
                "user_id": str(user_id),
                # Inline code: Markdown would make a mailto link of the login.
                "account": f"`{entry.title}`",
                "default_name": default_line_name(user_id, number),
            },
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Start re-authentication: the API refused the credentials."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the password and application id again."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = {**entry.data, **self._account_input(user_input)}
            error, _server = await _validate_account(self.hass, data)
            if error is None:
                return self._async_update_entry_and_abort(entry, data)
            errors["base"] = error
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=self.add_suggested_values_to_schema(
                REAUTH_SCHEMA, {CONF_APPLICATION_ID: entry.data.get(CONF_APPLICATION_ID)}
            ),
            errors=errors,
            description_placeholders={CONF_USERNAME: f"`{entry.data[CONF_USERNAME]}`"},
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change the URL or credentials of the same account."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data = self._account_input(user_input)
            await self.async_set_unique_id(data[CONF_USERNAME].lower())
            self._abort_if_unique_id_mismatch(reason="wrong_account")
            error, _server = await _validate_account(self.hass, data)
            if error is None:
                return self._async_update_entry_and_abort(entry, {**entry.data, **data})
            errors["base"] = error
        suggested = user_input or {key: entry.data.get(key) for key in (CONF_URL, CONF_USERNAME, CONF_APPLICATION_ID)}
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, suggested),
            errors=errors,
            description_placeholders=ACCOUNT_PLACEHOLDERS,
        )

    @callback
    def _async_update_entry_and_abort(self, entry: ConfigEntry, data: Mapping[str, Any]) -> ConfigFlowResult:
        """Store the new account data, then have the entry reloaded exactly once.

        The entry's update listener reloads it when its data changes, so the flow must
        not reload it too (Home Assistant warns about that from 2026.10). The listener
        exists only while the entry is set up, though, and is not called when nothing
        changed: an entry whose set-up failed on the refused credentials (the usual
        reauth), or a loaded one given the same credentials again (its coordinators stop
        polling after an authentication error), is reloaded here instead.
        """
        listened = bool(entry.update_listeners) and dict(entry.data) != dict(data)
        result = self.async_update_and_abort(entry, data=data)
        if not listened:
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
        return result


class LineSubentryFlowHandler(ConfigSubentryFlow):
    """Add or change one line."""

    async def _async_server(self, client: VtxClient) -> ServerInfo | None:
        """Return the server info: the loaded entry's, else asked (None when the API does not answer)."""
        entry = self._get_entry()
        # runtime_data exists only while the entry is loaded.
        server: ServerInfo | None = getattr(getattr(entry, "runtime_data", None), "server", None)
        if server is not None:
            return server
        try:
            return await client.get_server_info()
        except VtxError:
            return None

    async def _async_validate(
        self, user_input: dict[str, Any], current: int | None
    ) -> tuple[dict[str, Any], str | None, dict[str, str]]:
        """Check a line's input; ``current`` is the userId of the line being reconfigured.

        Returns the sub-entry data, or an error key and its placeholders.
        """
        entry = self._get_entry()
        placeholders = dict(USER_ID_PLACEHOLDERS)
        ref = parse_line_ref(str(user_input.get(CONF_USER_ID) or ""))
        if ref is None:
            return {}, "invalid_line", placeholders
        if ref.user_id is not None and ref.user_id != current and ref.user_id in configured_user_ids(self.hass):
            return {}, "already_configured", placeholders
        try:
            client = _client(self.hass, entry.data)
        except ValueError:
            return {}, "cannot_connect", placeholders
        server = await self._async_server(client) if ref.needs_lookup else None
        if ref.needs_lookup and server is None:
            return {}, "cannot_connect", placeholders
        taken = configured_user_ids(self.hass) - {current} if current is not None else configured_user_ids(self.hass)
        name = str(user_input.get(CONF_LINE_NAME) or "").strip()
        result = await resolve_lines(client, server, [(ref, name)], sip_domain(entry), taken)
        if result.error is LineError.USER_IDS_CONFIGURED:
            return {}, "already_configured", placeholders
        if result.error is not None:
            error = "unknown_user_id" if result.error is LineError.UNKNOWN_USER_IDS else result.error.value
            return {}, error, placeholders | result.placeholders
        if result.domain is not None and CONF_SIP_DOMAIN not in entry.data:
            async_learn_sip_domain(self.hass, entry, ref.login)
        ((user_id, (line_name, number)),) = result.lines.items()
        return line_data(user_id, line_name, number, result.logins.get(user_id)), None, placeholders

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a line."""
        errors: dict[str, str] = {}
        placeholders = dict(USER_ID_PLACEHOLDERS)
        if user_input is not None:
            data, error, placeholders = await self._async_validate(user_input, None)
            if error == "already_configured":
                return self.async_abort(reason="already_configured")
            if error is None:
                return self.async_create_entry(title=data[CONF_LINE_NAME], data=data, unique_id=str(data[CONF_USER_ID]))
            errors["base"] = error
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(LINE_SCHEMA, user_input),
            errors=errors,
            description_placeholders=placeholders,
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Rename a line or change its userId."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        placeholders = dict(USER_ID_PLACEHOLDERS)
        if user_input is not None:
            data, error, placeholders = await self._async_validate(user_input, int(subentry.data[CONF_USER_ID]))
            if error == "already_configured":
                return self.async_abort(reason="already_configured")
            if error is None:
                same_line = data[CONF_USER_ID] == subentry.data[CONF_USER_ID]
                if CONF_NUMBER not in data and same_line and (number := subentry.data.get(CONF_NUMBER)):
                    data[CONF_NUMBER] = number  # the same line keeps its known number
                if CONF_LOGIN_NAME not in data and same_line and (login := subentry.data.get(CONF_LOGIN_NAME)):
                    data[CONF_LOGIN_NAME] = login  # and its login name
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    data=data,
                    title=data[CONF_LINE_NAME],
                    unique_id=str(data[CONF_USER_ID]),
                )
            errors["base"] = error
        suggested = user_input or {
            CONF_USER_ID: str(subentry.data[CONF_USER_ID]),
            CONF_LINE_NAME: subentry.data.get(CONF_LINE_NAME, subentry.title),
        }
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(LINE_SCHEMA, suggested),
            errors=errors,
            description_placeholders=placeholders,
        )
