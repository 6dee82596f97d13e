"""Constants of the VTX VoIP integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "vtx_voip"
LOGGER = logging.getLogger(__package__)

MANUFACTURER: Final = "VTX"
LINE_MODEL: Final = "VPBX line"
ACCOUNT_MODEL: Final = "VoIP OpenAPI"

DEFAULT_URL: Final = "https://api.ipvoip.ch/openapi/"

# Where to ask for a line's userId (the wiki's missing-features table: VTX support gets it).
USER_ID_HELP_URL: Final = "https://wiki.vtx.ch/wiki/VoIP:OpenAPI"
# A login name as the help texts show it (inline code: Markdown would make a mailto link of it).
EXAMPLE_LOGIN: Final = "`+41225662194@m.ipvoip.ch`"

# Entry data
CONF_APPLICATION_ID: Final = "application_id"
CONF_WEBHOOK_ID: Final = "webhook_id"
# The SIP domain of the account's login names, learned from a resolved login name or a
# push context (changing it does not reload the entry).
CONF_SIP_DOMAIN: Final = "sip_domain"
# Main flow, step "lines"
CONF_USER_IDS: Final = "user_ids"
# Sub-entry of type "line": data {"user_id": int, "name": str} and "number" (E.164) when known
SUBENTRY_TYPE_LINE: Final = "line"
CONF_USER_ID: Final = "user_id"
CONF_LINE_NAME: Final = "name"
CONF_NUMBER: Final = "number"
# The login name a line was found by in the lines step (the per-line FEATURE subscription's scope).
CONF_LOGIN_NAME: Final = "login_name"
# Options
CONF_PUSH_BASE_URL: Final = "push_base_url"
# Seconds between two reads of a line's presence while it is not pushed.
CONF_PRESENCE_INTERVAL: Final = "presence_interval"
DEFAULT_PRESENCE_INTERVAL: Final = 30
MIN_PRESENCE_INTERVAL: Final = 10
MAX_PRESENCE_INTERVAL: Final = 3600
# Options: the SIP domain login names are built with (CONF_SIP_DOMAIN, empty: learned or
# the default), and whether lines of the whole enterprise are discovered (default on).
CONF_ENTERPRISE_DISCOVERY: Final = "enterprise_discovery"
DEFAULT_ENTERPRISE_DISCOVERY: Final = True

# Cadence
# Features: polled every minute without push, reconciled every 15 minutes with push.
FEATURE_POLL_INTERVAL: Final = timedelta(seconds=60)
FEATURE_RECONCILE_INTERVAL: Final = timedelta(minutes=15)
# Presence: polled every 30 s (the option's default) unless PRESENCE push works.
PRESENCE_POLL_INTERVAL: Final = timedelta(seconds=DEFAULT_PRESENCE_INTERVAL)
# Requests in flight at once towards the API, whatever the number of lines: the client
# starts with INITIAL and adapts (AIMD, api/concurrency.py) up to MAX.
INITIAL_REQUESTS_IN_FLIGHT: Final = 4
MAX_REQUESTS_IN_FLIGHT: Final = 32
REQUEST_TIMEOUT: Final = 10.0

# Feature names (featName) the integration shows
FEATURE_DND: Final = "CENTRAL_DND"
FEATURE_CFU: Final = "CALL_FORWARD_UNCONDITIONAL"
FEATURE_CFB: Final = "CALL_FORWARD_BUSY"
FEATURE_CFTO: Final = "CALL_FORWARD_TIMEOUT"
FEATURE_CFNR: Final = "CALL_FORWARD_NOT_REACHABLE"
FEATURE_CFUNREG: Final = "CALL_FORWARD_UNREGISTERED"

# Forward kind (as used by keys and actions) -> featName
FORWARD_FEATURES: Final[dict[str, str]] = {
    "unconditional": FEATURE_CFU,
    "busy": FEATURE_CFB,
    "timeout": FEATURE_CFTO,
    "not_reachable": FEATURE_CFNR,
    "unregistered": FEATURE_CFUNREG,
}
