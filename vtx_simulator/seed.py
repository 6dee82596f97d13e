"""Generator of ``data/default.json``, the simulator's default seed, and ``data/wiki.json``.

Run ``python -m vtx_simulator.seed`` to rewrite both files (a test checks they are up to
date). ``data/wiki.json`` is the wiki's own account (userId 177059, CENTRAL_DND 2898089):
the wiki's examples, as published, refer to its line and features.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys
from typing import Any, Final

from .assumed import A
from .const import DEFAULT_DATA_PATH, FEATURE_DND, WIKI_DATA_PATH

# FOUND: the server-info example of the wiki, verbatim.
SERVER_INFO: Final[dict[str, Any]] = {
    "buildCustomer": "Release",
    "buildVersion": "7.7.2.12",
    "buildNumber": "1",
    "buildDate": "2024-05-28T17:21:44+0200",
    "bulkLimitCommon": 100,
    "bulkLimitAddUser": 100,
    "bulkLimitAddAddressBookEntry": 1000,
}
# FOUND: the customer of the wiki's user table and CDR push example.
SERVICE_PROVIDER: Final = {"id": 2, "name": "vtx.sp"}
ENTERPRISE: Final = {"id": 16317, "name": "291908.bus.ent"}
SITE_NAME: Final = "s1.291908.bus.ipvoip.ch"
SITE: Final = {"id": 16321, "name": SITE_NAME}
# FOUND: the wiki's table of userIds, loginNames and numbers. The names are ours, the
# same as the demo's lines in Home Assistant (scripts/develop_setup.py, tests, README).
LINES: Final = (
    (176125, "+41225662194", "Room 101"),
    (176129, "+41225662195", "Room 102"),
    (176133, "+41225662196", "Room 103"),
    (176137, "+41225662197", "Front desk"),
)
LOGIN_DOMAIN: Final = "m.ipvoip.ch"
# FOUND: the 19 featNames of the wiki's listing, in its order.
FEATURE_NAMES: Final = (
    "CALLING_LINE_IDENTIFICATION_RESTRICTION",
    "PARALLEL_RINGING",
    "PRESENCE",
    "CALL_TRANSFER",
    "AD_HOC_CONFERENCING",
    "LOCK_CODE",
    "CALL_FORWARD_BUSY",
    "MUSIC_ON_HOLD",
    "PHONE_BOOK_LOOKUP",
    "PICKUP_CALL",
    "CENTRAL_DND",
    "CALL_HOLD",
    "CALL_WAITING",
    "CALL_FORWARD_TIMEOUT",
    "CALL_FORWARD_NOT_REACHABLE",
    "FORWARDED_CALL_REJECTION",
    "CALL_FORWARD_UNREGISTERED",
    "EARLY_MEDIA",
    "CALL_FORWARD_UNCONDITIONAL",
)
# FOUND: the wiki's ids grow by 5 in this order (2897999 CLIR ... 2898089 CENTRAL_DND).
ID_ORDER: Final = (
    "CALLING_LINE_IDENTIFICATION_RESTRICTION",
    "CALL_FORWARD_BUSY",
    "CALL_FORWARD_NOT_REACHABLE",
    "CALL_FORWARD_UNCONDITIONAL",
    "PARALLEL_RINGING",
    "EARLY_MEDIA",
    "FORWARDED_CALL_REJECTION",
    "CALL_TRANSFER",
    "CALL_HOLD",
    "CALL_WAITING",
    "MUSIC_ON_HOLD",
    "CALL_FORWARD_UNREGISTERED",
    "CALL_FORWARD_TIMEOUT",
    "PHONE_BOOK_LOOKUP",
    "AD_HOC_CONFERENCING",
    "PICKUP_CALL",
    "PRESENCE",
    "LOCK_CODE",
    "CENTRAL_DND",
)
FIRST_FEATURE_ID: Final = 2_871_004
ID_STEP: Final = 5
ACTIVE_BY_DEFAULT: Final = frozenset({"CALL_WAITING", "CALL_HOLD", "CALL_TRANSFER", "PRESENCE"})
FORWARD_NAMES: Final = (
    "CALL_FORWARD_UNCONDITIONAL",
    "CALL_FORWARD_BUSY",
    "CALL_FORWARD_TIMEOUT",
    "CALL_FORWARD_NOT_REACHABLE",
    "CALL_FORWARD_UNREGISTERED",
)
FORWARD_TIMEOUT_SECONDS: Final = 20
# FOUND: the account of the wiki's feature, subscription and push examples.
WIKI_ENTERPRISE: Final = {"id": 15198, "name": "431569.bus.ent"}
WIKI_SITE_NAME: Final = "s1.431569.bus.ipvoip.ch"
WIKI_SITE: Final = {"id": 15200, "name": WIKI_SITE_NAME}
WIKI_LINE: Final = (177059, "+41215776366", "Wiki example")
WIKI_FIRST_FEATURE_ID: Final = 2_897_999


def _national(number: str) -> str:
    return "0" + number[3:] if number.startswith("+41") else number


def feature_data(feat_name: str, number: str, reception: str, site: str = SITE_NAME) -> dict[str, Any] | None:
    """Return a plausible data block of a feature, or ``None`` when it has none."""
    if feat_name == FEATURE_DND:
        # FOUND: the wiki's CENTRAL_DND example.
        return {"condition": "ALWAYS", "mode": "USER"}
    if feat_name in FORWARD_NAMES:
        # FOUND for CALL_FORWARD_UNCONDITIONAL; the other forwards by A.feature_data_key's rule.
        target = "0225117902" if feat_name == "CALL_FORWARD_UNCONDITIONAL" else _national(reception)
        if target == _national(number):
            target = "0225117902"
        block: dict[str, Any] = {
            "type": A.feature_data_type(feat_name),
            "colpAllowed": True,
            "destinationUri": f"{target}@{site}",
            "destinationUriRepetition": 0,
            "condition": "ALWAYS",
        }
        if feat_name == "CALL_FORWARD_TIMEOUT":
            block["timeout"] = FORWARD_TIMEOUT_SECONDS
        return block
    if feat_name == "CALLING_LINE_IDENTIFICATION_RESTRICTION":
        return {"condition": "ALWAYS"}
    if feat_name == "PARALLEL_RINGING":
        return {"destinationUris": [], "condition": "ALWAYS"}
    return None


def build_feature(
    feature_id: int, feat_name: str, user_id: int, number: str, reception: str, site: str = SITE_NAME
) -> dict[str, Any]:
    """Return one feature in the wiki's shape."""
    feature: dict[str, Any] = {
        "id": feature_id,
        "featName": feat_name,
        "userId": user_id,
        "status": A.STATUS_ACTIVE if feat_name in ACTIVE_BY_DEFAULT else A.STATUS_INACTIVE,
        "overridingUserFeature": False,
        "timeTableActive": False,
        "level": "USER",
    }
    data = feature_data(feat_name, number, reception, site)
    if data is not None:
        feature[A.feature_data_key(feat_name)] = data
    return feature


def build_line(user_id: int, number: str, name: str, first_id: int, reception: str, site: str) -> dict[str, Any]:
    """Return one seed line with the 19 features, ids from ``first_id`` in the wiki's order."""
    ids = {feat_name: first_id + rank * ID_STEP for rank, feat_name in enumerate(ID_ORDER)}
    return {
        "userId": user_id,
        "loginName": f"{number}@{LOGIN_DOMAIN}",
        "phoneNumber": number,
        "name": name,
        "features": [
            build_feature(ids[feat_name], feat_name, user_id, number, reception, site) for feat_name in FEATURE_NAMES
        ],
    }


def build_default_data() -> dict[str, Any]:
    """Return the default seed."""
    reception = LINES[0][1]
    lines = [
        build_line(user_id, number, name, FIRST_FEATURE_ID + index * ID_STEP * len(ID_ORDER), reception, SITE_NAME)
        for index, (user_id, number, name) in enumerate(LINES)
    ]
    return {
        "server": dict(SERVER_INFO),
        "serviceProvider": dict(SERVICE_PROVIDER),
        "enterprise": dict(ENTERPRISE),
        "site": dict(SITE),
        "lines": lines,
    }


def build_wiki_data() -> dict[str, Any]:
    """Return the seed of the wiki's account: line 177059, its features 2897999...2898089."""
    user_id, number, name = WIKI_LINE
    return {
        "server": dict(SERVER_INFO),
        "serviceProvider": dict(SERVICE_PROVIDER),
        "enterprise": dict(WIKI_ENTERPRISE),
        "site": dict(WIKI_SITE),
        "lines": [build_line(user_id, number, name, WIKI_FIRST_FEATURE_ID, number, WIKI_SITE_NAME)],
    }


def dump(data: dict[str, Any]) -> str:
    """Serialise a seed the way the committed file is written."""
    return json.dumps(data, indent=2) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the default seed to the given path (``--wiki PATH``: the wiki's); none: both bundled files."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        DEFAULT_DATA_PATH.write_text(dump(build_default_data()), encoding="utf-8")
        WIKI_DATA_PATH.write_text(dump(build_wiki_data()), encoding="utf-8")
    elif args[0] == "--wiki":
        Path(args[1]).write_text(dump(build_wiki_data()), encoding="utf-8")
    else:
        Path(args[0]).write_text(dump(build_default_data()), encoding="utf-8")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
