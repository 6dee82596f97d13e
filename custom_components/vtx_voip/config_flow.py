"""Config flow of the VTX VoIP integration: the account, its lines as sub-entries."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import suppress
from decimal import Decimal
import re
from typing import Any, Final

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
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
from .const import (
    CONF_APPLICATION_ID,
    CONF_LINE_NAME,
    CONF_PUSH_BASE_URL,
    CONF_USER_ID,
    CONF_USER_IDS,
    CONF_WEBHOOK_ID,
    DEFAULT_URL,
    DOMAIN,
    LOGGER,
    REQUEST_TIMEOUT,
    SUBENTRY_TYPE_LINE,
)
from .tariffs import (
    CONF_BILL_INCOMING,
    CONF_BILLING,
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
    retention_days,
)

# A line of the "lines" step: "176125" or "176125 = Room 101".
_LINE: Final = re.compile(r"^\s*(\d{1,12})\s*(?:[=:]\s*(.*?))?\s*$")
MAX_CHECKS_IN_FLIGHT: Final = 4

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
LINE_SCHEMA: Final = vol.Schema(
    {
        vol.Required(CONF_USER_ID): NumberSelector(
            NumberSelectorConfig(min=1, max=999_999_999_999, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Optional(CONF_LINE_NAME): _TEXT,
    }
)
OPTIONS_SCHEMA: Final = vol.Schema({vol.Optional(CONF_PUSH_BASE_URL): _URL_SELECTOR})
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
        CONF_BILL_INCOMING: tariffs.bill_incoming,
        CONF_RETENTION_DAYS: retention_days(options),
    }


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


async def _validate_account(hass: HomeAssistant, data: Mapping[str, Any]) -> str | None:
    """Check credentials with the server-info call; return an error key or None."""
    try:
        await _client(hass, data).get_server_info()
    except ValueError:
        return "invalid_url"
    except VtxAuthenticationError:
        return "invalid_auth"
    except VtxConnectionError, VtxRateLimitError, VtxResponseError, VtxNotFoundError, VtxRequestError:
        return "cannot_connect"
    except Exception:  # noqa: BLE001 - the flow must answer whatever happens
        LOGGER.exception("Unexpected error while checking the VTX account")
        return "unknown"
    return None


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


def configured_user_ids(hass: HomeAssistant) -> set[int]:
    """Return the userIds that are lines of any VTX VoIP entry (not only of one account).

    Entity and device unique ids are per userId, so a line can be set up only once.
    """
    return {
        int(subentry.data[CONF_USER_ID])
        for entry in hass.config_entries.async_entries(DOMAIN)
        for subentry in entry.subentries.values()
        if subentry.subentry_type == SUBENTRY_TYPE_LINE
    }


def parse_lines(text: str) -> tuple[dict[int, str], list[str]]:
    """Parse the "lines" text: userIds with optional names, and the lines that are not.

    A userId given twice keeps its last name.
    """
    lines: dict[int, str] = {}
    bad: list[str] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        match = _LINE.match(raw)
        if match is None:
            bad.append(raw.strip())
            continue
        user_id = int(match.group(1))
        lines[user_id] = (match.group(2) or "").strip() or f"Line {user_id}"
    return lines, bad


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
            if (error := await _validate_account(self.hass, data)) is None:
                self._account = data
                return await self.async_step_lines()
            errors["base"] = error
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(USER_SCHEMA, user_input),
            errors=errors,
            description_placeholders=ACCOUNT_PLACEHOLDERS,
        )

    async def async_step_lines(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the userIds of the lines and check each."""
        errors: dict[str, str] = {}
        placeholders = {"lines": ""}
        if user_input is not None:
            lines, bad = parse_lines(user_input[CONF_USER_IDS])
            if bad:
                errors[CONF_USER_IDS] = "invalid_user_ids"
                placeholders["lines"] = ", ".join(bad)
            elif not lines:
                errors[CONF_USER_IDS] = "no_user_ids"
            elif taken := sorted(lines.keys() & configured_user_ids(self.hass)):
                errors[CONF_USER_IDS] = "user_ids_configured"
                placeholders["lines"] = ", ".join(str(user_id) for user_id in taken)
            else:
                client = _client(self.hass, self._account)
                semaphore = asyncio.Semaphore(MAX_CHECKS_IN_FLIGHT)

                async def check(user_id: int) -> str | None:
                    async with semaphore:
                        return await _check_user_id(client, user_id)

                results = await asyncio.gather(*(check(user_id) for user_id in lines))
                failed = [user_id for user_id, result in zip(lines, results, strict=True) if result is not None]
                if "invalid_auth" in results:
                    errors["base"] = "invalid_auth"
                elif "cannot_connect" in results:
                    errors["base"] = "cannot_connect"
                elif failed:
                    errors[CONF_USER_IDS] = "unknown_user_ids"
                    placeholders["lines"] = ", ".join(str(user_id) for user_id in failed)
                else:
                    return self.async_create_entry(
                        title=self._account[CONF_USERNAME],
                        data={**self._account, CONF_WEBHOOK_ID: webhook.async_generate_id()},
                        subentries=[
                            ConfigSubentryData(
                                data={CONF_USER_ID: user_id, CONF_LINE_NAME: name},
                                subentry_type=SUBENTRY_TYPE_LINE,
                                title=name,
                                unique_id=str(user_id),
                            )
                            for user_id, name in lines.items()
                        ],
                    )
        return self.async_show_form(
            step_id="lines",
            data_schema=self.add_suggested_values_to_schema(LINES_SCHEMA, user_input),
            errors=errors,
            description_placeholders=placeholders,
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
            if (error := await _validate_account(self.hass, data)) is None:
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
            if (error := await _validate_account(self.hass, data)) is None:
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

    async def _async_validate(
        self, user_input: dict[str, Any], current: int | None
    ) -> tuple[dict[str, Any], str | None]:
        """Check a line's input; ``current`` is the userId of the line being reconfigured."""
        entry = self._get_entry()
        user_id = int(user_input[CONF_USER_ID])
        name = str(user_input.get(CONF_LINE_NAME) or "").strip() or f"Line {user_id}"
        if user_id != current and user_id in configured_user_ids(self.hass):
            return {}, "already_configured"
        try:
            client = _client(self.hass, entry.data)
        except ValueError:
            return {}, "cannot_connect"
        if (error := await _check_user_id(client, user_id)) is not None:
            return {}, error
        return {CONF_USER_ID: user_id, CONF_LINE_NAME: name}, None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Add a line."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, error = await self._async_validate(user_input, None)
            if error == "already_configured":
                return self.async_abort(reason="already_configured")
            if error is None:
                return self.async_create_entry(title=data[CONF_LINE_NAME], data=data, unique_id=str(data[CONF_USER_ID]))
            errors["base"] = error
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(LINE_SCHEMA, user_input),
            errors=errors,
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """Rename a line or change its userId."""
        subentry = self._get_reconfigure_subentry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, error = await self._async_validate(user_input, int(subentry.data[CONF_USER_ID]))
            if error == "already_configured":
                return self.async_abort(reason="already_configured")
            if error is None:
                return self.async_update_and_abort(
                    self._get_entry(),
                    subentry,
                    data=data,
                    title=data[CONF_LINE_NAME],
                    unique_id=str(data[CONF_USER_ID]),
                )
            errors["base"] = error
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(LINE_SCHEMA, user_input or dict(subentry.data)),
            errors=errors,
        )


class VtxOptionsFlow(OptionsFlow):
    """A menu: the settings (push base URL) and the tariffs (with the ledger's retention)."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the settings and the tariffs."""
        return self.async_show_menu(step_id="init", menu_options=["settings", "tariffs"])

    def _save(self, changes: Mapping[str, Any], drop: tuple[str, ...] = ()) -> ConfigFlowResult:
        """Save what one step changes, keeping the options of the other steps."""
        kept = {key: value for key, value in self.config_entry.options.items() if key not in drop}
        return self.async_create_entry(data={**kept, **changes})

    async def async_step_settings(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the push base URL."""
        errors: dict[str, str] = {}
        if user_input is not None:
            value = str(user_input.get(CONF_PUSH_BASE_URL) or "").strip()
            if not value:
                return self._save({}, drop=(CONF_PUSH_BASE_URL,))
            if (url := normalize_push_url(value)) is not None:
                return self._save({CONF_PUSH_BASE_URL: url})
            errors[CONF_PUSH_BASE_URL] = "invalid_url"
        return self.async_show_form(
            step_id="settings",
            data_schema=self.add_suggested_values_to_schema(OPTIONS_SCHEMA, user_input or self.config_entry.options),
            errors=errors,
            description_placeholders=OPTIONS_PLACEHOLDERS,
        )

    async def async_step_tariffs(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the price of each destination class, whether incoming calls cost, the retention."""
        if user_input is not None:
            return self._save(tariff_options(user_input))
        return self.async_show_form(
            step_id="tariffs",
            data_schema=self.add_suggested_values_to_schema(
                TARIFFS_SCHEMA, tariff_suggestions(self.config_entry.options)
            ),
            description_placeholders={"currency": self.hass.config.currency},
        )
