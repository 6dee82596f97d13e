"""Config flow of the VTX VoIP integration: the account, its lines as sub-entries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
import re
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
    OptionsFlow,
    SubentryFlowResult,
)
from homeassistant.const import CONF_PASSWORD, CONF_URL, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import section
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
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
from .api.numbers import LineRef, default_line_name, domain_of_login, format_number, number_of_login, parse_line_ref
from .billing.numbering import InvalidExtensionsError, format_extension_ranges, parse_extension_ranges
from .billing.tariffs import (
    CONF_BILL_INCOMING,
    CONF_BILLING,
    CONF_INTERNAL_EXTENSIONS,
    CONF_MINIMUM,
    CONF_PRICE,
    CONF_RETENTION_DAYS,
    CONF_SETUP,
    CONF_TARIFFS,
    DEFAULT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    MIN_RETENTION_DAYS,
    PRICED_CLASSES,
    Billing,
    Tariffs,
    extension_ranges,
    retention_days,
)
from .const import (
    CONF_APPLICATION_ID,
    CONF_ENTERPRISE_DISCOVERY,
    CONF_LINE_NAME,
    CONF_NUMBER,
    CONF_PRESENCE_INTERVAL,
    CONF_PUSH_BASE_URL,
    CONF_SIP_DOMAIN,
    CONF_USER_ID,
    CONF_USER_IDS,
    CONF_WEBHOOK_ID,
    DEFAULT_ENTERPRISE_DISCOVERY,
    DEFAULT_PRESENCE_INTERVAL,
    DEFAULT_URL,
    DOMAIN,
    LOGGER,
    MAX_PRESENCE_INTERVAL,
    MIN_PRESENCE_INTERVAL,
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

# A line of the "lines" step: a userId, phone number or login name, optionally "= name"
# ("176125 = Room 101", "+41 22 566 21 94 = Room 101"); "176125: Room 101" is read too.
_LINE: Final = re.compile(r"^\s*(?P<ref>[^=]+?)\s*(?:=\s*(?P<name>.*?))?\s*$")
_LEGACY_LINE: Final = re.compile(r"^\s*(?P<ref>\d{1,12})\s*:\s*(?P<name>.*?)\s*$")
MAX_CHECKS_IN_FLIGHT: Final = 4
# Where the help texts send a user who needs a line's userId (no URL in strings).
# The errors naming lines always get every placeholder they use (empty until they show).
USER_ID_PLACEHOLDERS: Final = {
    "user_id_help_url": USER_ID_HELP_URL,
    "example_login": "`+41225662194@m.ipvoip.ch`",
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
OPTIONS_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(CONF_PUSH_BASE_URL): _URL_SELECTOR,
        vol.Optional(CONF_ENTERPRISE_DISCOVERY, default=DEFAULT_ENTERPRISE_DISCOVERY): BooleanSelector(),
        vol.Optional(CONF_SIP_DOMAIN): _TEXT,
        vol.Optional(CONF_PRESENCE_INTERVAL, default=DEFAULT_PRESENCE_INTERVAL): NumberSelector(
            NumberSelectorConfig(
                min=MIN_PRESENCE_INTERVAL,
                max=MAX_PRESENCE_INTERVAL,
                step=1,
                unit_of_measurement="s",
                mode=NumberSelectorMode.BOX,
            )
        ),
    }
)
_PRICE: Final = NumberSelector(NumberSelectorConfig(min=0, max=1000, step="any", mode=NumberSelectorMode.BOX))
_SECONDS: Final = NumberSelector(
    NumberSelectorConfig(min=0, max=3600, step=1, mode=NumberSelectorMode.BOX, unit_of_measurement="s")
)
_CLASS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_PRICE, default=0): _PRICE,
        vol.Required(CONF_BILLING, default=Billing.PER_MINUTE.value): SelectSelector(
            SelectSelectorConfig(
                options=[billing.value for billing in Billing],
                translation_key=CONF_BILLING,
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Required(CONF_MINIMUM, default=0): _SECONDS,
        vol.Required(CONF_SETUP, default=0): _PRICE,
    }
)
TARIFFS_SCHEMA: Final = vol.Schema(
    {
        **{
            vol.Required(destination_class.value): section(_CLASS_SCHEMA, {"collapsed": False})
            for destination_class in PRICED_CLASSES
        },
        vol.Optional(CONF_INTERNAL_EXTENSIONS): TextSelector(),
        vol.Required(CONF_BILL_INCOMING, default=False): BooleanSelector(),
        vol.Required(CONF_RETENTION_DAYS, default=DEFAULT_RETENTION_DAYS): NumberSelector(
            NumberSelectorConfig(
                min=MIN_RETENTION_DAYS,
                max=MAX_RETENTION_DAYS,
                step=1,
                mode=NumberSelectorMode.BOX,
                unit_of_measurement="d",
            )
        ),
    }
)


def tariff_options(user_input: Mapping[str, Any]) -> dict[str, Any]:
    """Turn the tariffs step's answer into options (prices kept as decimal strings)."""
    tariffs: dict[str, Any] = {}
    for destination_class in PRICED_CLASSES:
        given = user_input.get(destination_class.value) or {}
        tariffs[destination_class.value] = {
            CONF_PRICE: _price_text(given.get(CONF_PRICE, 0)),
            CONF_BILLING: str(given.get(CONF_BILLING, Billing.PER_MINUTE.value)),
            CONF_MINIMUM: int(given.get(CONF_MINIMUM, 0) or 0),
            CONF_SETUP: _price_text(given.get(CONF_SETUP, 0)),
        }
    return {
        CONF_TARIFFS: tariffs,
        CONF_INTERNAL_EXTENSIONS: format_extension_ranges(
            parse_extension_ranges(user_input.get(CONF_INTERNAL_EXTENSIONS))
        ),
        CONF_BILL_INCOMING: bool(user_input.get(CONF_BILL_INCOMING, False)),
        CONF_RETENTION_DAYS: int(user_input.get(CONF_RETENTION_DAYS, DEFAULT_RETENTION_DAYS)),
    }


def _price_text(value: Any) -> str:
    """Write a price as a decimal string, rounded to 1/10000 (a float from the form is not exact)."""
    return format(Decimal(str(value)).quantize(Decimal("0.0001")).normalize(), "f")


def tariff_suggestions(options: Mapping[str, Any]) -> dict[str, Any]:
    """Return the tariffs step's values from the options."""
    tariffs = Tariffs.from_options(options)
    return {
        **{
            destination_class.value: {
                CONF_PRICE: float(tariff.price_per_minute),
                CONF_BILLING: tariff.billing.value,
                CONF_MINIMUM: tariff.minimum_seconds,
                CONF_SETUP: float(tariff.setup_price),
            }
            for destination_class, tariff in tariffs.classes.items()
        },
        CONF_INTERNAL_EXTENSIONS: format_extension_ranges(extension_ranges(options)),
        CONF_BILL_INCOMING: tariffs.bill_incoming,
        CONF_RETENTION_DAYS: retention_days(options),
    }


# A SIP domain as the options take it.
_SIP_DOMAIN: Final = re.compile(
    r"(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)+"
)

# Values the help texts show: hassfest keeps URLs out of strings.json, and the frontend
# renders texts as Markdown, where a login like an e-mail address would become a mailto
# link (inline code keeps it as typed).
ACCOUNT_PLACEHOLDERS: Final = {"default_url": DEFAULT_URL, "example_username": "`openapi@123456.bus.ent`"}
OPTIONS_PLACEHOLDERS: Final = {"example_url": "https://ha.example.com", "webhook_path": "/api/webhook/"}


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


async def _check_user_id(client: VtxClient, user_id: int) -> str | None:
    """Read a line's features; return an error key or None."""
    try:
        features = await client.get_features(user_id)
    except VtxAuthenticationError as err:
        # 401: the credentials themselves; 403 may be a line outside the account.
        return "invalid_auth" if err.status == 401 else "unknown_user_id"
    except VtxNotFoundError, VtxRequestError:
        return "unknown_user_id"
    except VtxError:
        return "cannot_connect"
    return None if features else "unknown_user_id"


async def _resolve_login(client: VtxClient, login: str) -> int | str:
    """Return the userId of a login name, or an error key ("unresolved" when no line has it)."""
    try:
        return await client.resolve_login(login)
    except VtxAuthenticationError as err:
        return "invalid_auth" if err.status == 401 else "unresolved"
    except VtxNotFoundError, VtxRequestError, VtxResponseError:
        # A 7.8 platform that does not take login names after all answers 404 (or 400).
        return "unresolved"
    except VtxError:
        return "cannot_connect"


def parse_line(text: str) -> tuple[LineRef, str] | None:
    """Parse one entry: a userId, number or login name and its name ("" when none given)."""
    match = _LEGACY_LINE.match(text) or _LINE.match(text)
    if match is None or (ref := parse_line_ref(match.group("ref"))) is None:
        return None
    return ref, (match.group("name") or "").strip()


def parse_lines(text: str) -> tuple[list[tuple[LineRef, str]], list[str]]:
    """Parse the "lines" text: the entries (line, name or ""), and the lines that are not entries."""
    entries: list[tuple[LineRef, str]] = []
    bad: list[str] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        if (entry := parse_line(raw)) is None:
            bad.append(raw.strip())
        else:
            entries.append(entry)
    return entries, bad


@dataclass(slots=True)
class Resolution:
    """What the lines typed resolve to, or why they do not.

    ``lines``: userId -> (name, E.164 number or None), the last entry of a userId winning;
    ``error``/``field``/``placeholders``: the form error; ``domain``: a SIP domain learned
    from a login name that resolved.
    """

    lines: dict[int, tuple[str, str | None]] = field(default_factory=dict)
    error: str | None = None
    base: bool = False
    placeholders: dict[str, str] = field(default_factory=dict)
    domain: str | None = None


def _entries_text(refs: list[LineRef]) -> str:
    return ", ".join(ref.text for ref in refs)


async def resolve_lines(
    client: VtxClient,
    server: ServerInfo | None,
    entries: list[tuple[LineRef, str]],
    domain: str,
    taken: set[int],
) -> Resolution:
    """Find the userId of every entry and check it; ``taken``: userIds that are lines already.

    Numbers and login names are looked up by login name (platform 7.8+; older: the entries
    are named and a userId is asked for). Login names are looked up first: the SIP domain
    of the first that resolves builds the login names of the numbers.
    """
    result = Resolution(placeholders=dict(USER_ID_PLACEHOLDERS))
    lookups = [ref for ref, _name in entries if ref.needs_lookup]
    if lookups and (server is None or not server.supports_login_names):
        result.error = "user_id_needed"
        result.placeholders.update(lines=_entries_text(lookups), version=server.build_version if server else "?")
        return result
    semaphore = asyncio.Semaphore(MAX_CHECKS_IN_FLIGHT)

    async def lookup(ref: LineRef, login_domain: str) -> int | str:
        async with semaphore:
            return await _resolve_login(client, ref.login_for(login_domain))

    found: dict[LineRef, int | str] = {}
    logins = [ref for ref in lookups if ref.login is not None]
    for ref, outcome in zip(logins, await asyncio.gather(*(lookup(ref, domain) for ref in logins)), strict=True):
        found[ref] = outcome
        if isinstance(outcome, int) and result.domain is None:
            result.domain = domain_of_login(ref.login)
    numbers = [ref for ref in lookups if ref.login is None]
    number_domain = result.domain or domain
    found.update(zip(numbers, await asyncio.gather(*(lookup(ref, number_domain) for ref in numbers)), strict=True))
    outcomes = list(found.values())
    if "invalid_auth" in outcomes or "cannot_connect" in outcomes:
        result.error, result.base = ("invalid_auth" if "invalid_auth" in outcomes else "cannot_connect"), True
        return result
    if unresolved := [ref for ref in lookups if not isinstance(found[ref], int)]:
        result.error = "numbers_not_found"
        result.placeholders.update(
            lines=_entries_text(unresolved),
            logins=", ".join(f"`{ref.login_for(number_domain)}`" for ref in unresolved),
        )
        return result
    resolved: list[tuple[LineRef, int, str]] = []
    for ref, name in entries:
        user_id = found[ref] if ref.needs_lookup else ref.user_id
        assert isinstance(user_id, int)  # every lookup resolved; every other entry is a userId
        resolved.append((ref, user_id, name))
    if clash := [ref for ref, user_id, _name in resolved if user_id in taken]:
        result.error = "user_ids_configured"
        result.placeholders["lines"] = _entries_text(clash)
        return result
    # Lines typed as userIds are checked; those found by login name were read already.
    direct = sorted({user_id for ref, user_id, _name in resolved if not ref.needs_lookup})

    async def check(user_id: int) -> str | None:
        async with semaphore:
            return await _check_user_id(client, user_id)

    checks = dict(zip(direct, await asyncio.gather(*(check(user_id) for user_id in direct)), strict=True))
    if "invalid_auth" in checks.values() or "cannot_connect" in checks.values():
        result.error, result.base = ("invalid_auth" if "invalid_auth" in checks.values() else "cannot_connect"), True
        return result
    if failed := [user_id for user_id, error in checks.items() if error is not None]:
        result.error = "unknown_user_ids"
        result.placeholders["lines"] = ", ".join(str(user_id) for user_id in failed)
        return result
    for ref, user_id, name in resolved:
        number = ref.number or (result.lines.get(user_id, ("", None))[1])
        result.lines[user_id] = (name or default_line_name(user_id, number), number)
    return result


def line_data(user_id: int, name: str, number: str | None) -> dict[str, Any]:
    """Return the data of a line sub-entry: userId and name, and the number when known."""
    data: dict[str, Any] = {CONF_USER_ID: user_id, CONF_LINE_NAME: name}
    if number:
        data[CONF_NUMBER] = number
    return data


def normalize_push_url(value: str) -> str | None:
    """Return an http(s) base URL without trailing slash, or None if it is not one."""
    try:
        url = normalize_base_url(value)
    except ValueError:
        return None
    return str(url).rstrip("/")


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
                placeholders["lines"] = _entries_text(taken)
            else:
                result = await resolve_lines(
                    _client(self.hass, self._account),
                    self._server,
                    entries,
                    sip_domain(None),
                    configured_user_ids(self.hass),
                )
                if result.error is not None:
                    errors["base" if result.base else CONF_USER_IDS] = result.error
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
                                data=line_data(user_id, name, number),
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
        runtime = getattr(entry, "runtime_data", None)
        if (server := getattr(runtime, "server", None)) is not None:
            return server  # type: ignore[no-any-return]
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
        if result.error == "user_ids_configured":
            return {}, "already_configured", placeholders
        if result.error is not None:
            return {}, "unknown_user_id" if result.error == "unknown_user_ids" else result.error, result.placeholders
        if result.domain is not None and CONF_SIP_DOMAIN not in entry.data:
            async_learn_sip_domain(self.hass, entry, ref.login)
        ((user_id, (line_name, number)),) = result.lines.items()
        return line_data(user_id, line_name, number), None, placeholders

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


class VtxOptionsFlow(OptionsFlow):
    """A menu: the settings (push base URL, discovery, SIP domain) and the tariffs (with the ledger's retention)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the settings and the tariffs."""
        return self.async_show_menu(step_id="init", menu_options=["settings", "tariffs"])

    def _save(self, changes: Mapping[str, Any], drop: tuple[str, ...] = ()) -> ConfigFlowResult:
        """Save what one step changes, keeping the options of the other steps."""
        kept = {key: value for key, value in self.config_entry.options.items() if key not in drop}
        return self.async_create_entry(data={**kept, **changes})

    async def async_step_settings(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the push base URL, discovery and the SIP domain."""
        errors: dict[str, str] = {}
        if user_input is not None:
            options: dict[str, Any] = {
                CONF_ENTERPRISE_DISCOVERY: bool(
                    user_input.get(CONF_ENTERPRISE_DISCOVERY, DEFAULT_ENTERPRISE_DISCOVERY)
                ),
                CONF_PRESENCE_INTERVAL: int(user_input.get(CONF_PRESENCE_INTERVAL, DEFAULT_PRESENCE_INTERVAL)),
            }
            value = str(user_input.get(CONF_PUSH_BASE_URL) or "").strip()
            if value:
                if (url := normalize_push_url(value)) is not None:
                    options[CONF_PUSH_BASE_URL] = url
                else:
                    errors[CONF_PUSH_BASE_URL] = "invalid_url"
            domain = str(user_input.get(CONF_SIP_DOMAIN) or "").strip().lower()
            if domain:
                if _SIP_DOMAIN.fullmatch(domain):
                    options[CONF_SIP_DOMAIN] = domain
                else:
                    errors[CONF_SIP_DOMAIN] = "invalid_domain"
            if not errors:
                # The tariffs step's options are kept; these are replaced.
                return self._save(options, drop=(CONF_PUSH_BASE_URL, CONF_SIP_DOMAIN))
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, user_input or self.config_entry.options),
            errors=errors,
            description_placeholders={
                **OPTIONS_PLACEHOLDERS,
                "sip_domain": sip_domain(self.config_entry),
                "example_login": USER_ID_PLACEHOLDERS["example_login"],
            },
        )

    async def async_step_tariffs(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the price of each destination class, the internal extensions, whether incoming calls cost, the retention."""
        errors: dict[str, str] = {}
        if user_input is not None:
            try:
                return self._save(tariff_options(user_input))
            except InvalidExtensionsError:
                errors[CONF_INTERNAL_EXTENSIONS] = "invalid_extensions"
        return self.async_show_form(
            step_id="tariffs",
            data_schema=self.add_suggested_values_to_schema(
                TARIFFS_SCHEMA, user_input or tariff_suggestions(self.config_entry.options)
            ),
            errors=errors,
            description_placeholders={"currency": self.hass.config.currency},
        )
