"""Options flow of the VTX VoIP integration: the settings, and the tariffs with the ledger's retention."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
import re
from typing import Any, Final

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.data_entry_flow import section
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

from .api import normalize_base_url
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
    CONF_ENTERPRISE_DISCOVERY,
    CONF_PRESENCE_INTERVAL,
    CONF_PUSH_BASE_URL,
    CONF_SIP_DOMAIN,
    DEFAULT_ENTERPRISE_DISCOVERY,
    DEFAULT_PRESENCE_INTERVAL,
    EXAMPLE_LOGIN,
    MAX_PRESENCE_INTERVAL,
    MIN_PRESENCE_INTERVAL,
)
from .lines.discovery import sip_domain

_URL_SELECTOR: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.URL, autocomplete="url"))
_TEXT: Final = TextSelector()
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


OPTIONS_PLACEHOLDERS: Final = {"example_url": "https://ha.example.com", "webhook_path": "/api/webhook/"}


def normalize_push_url(value: str) -> str | None:
    """Return an http(s) base URL without trailing slash, or None if it is not one."""
    try:
        url = normalize_base_url(value)
    except ValueError:
        return None
    return str(url).rstrip("/")


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
                "example_login": EXAMPLE_LOGIN,
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
