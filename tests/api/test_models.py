"""The models' tolerant parsing at its edges: what the API sends oddly is read or refused, never guessed."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.vtx_voip.api import VtxResponseError
from custom_components.vtx_voip.api.models import (
    CallLog,
    Feature,
    Subscription,
    parse_call_log_list,
    parse_feature_list_checked,
    parse_subscription_list,
)

CFU: dict[str, Any] = {
    "id": 2898014,
    "featName": "CALL_FORWARD_UNCONDITIONAL",
    "userId": 176125,
    "status": "INACTIVE",
    "callForwardUnconditionalData": {"destinationUri": "+41791234567"},
}


@pytest.mark.parametrize(
    ("duration", "status", "expected"),
    [
        (65, 804, (65, 804)),
        (65.0, "804", (65, 804)),  # a whole float, a number as text
        (True, False, (0, None)),  # booleans are no numbers
        (65.5, [804], (0, None)),  # a fraction, a list: not read
        ("-3", "x", (0, None)),  # no sign, no text
    ],
)
def test_call_log_numbers(duration: object, status: object, expected: tuple[int, int | None]) -> None:
    """A call log's duration and status as numbers, whole floats or digits; anything else is unknown (0, None)."""
    log = CallLog.from_json({"id": 7, "userId": 176125, "duration": duration, "status": status})
    assert log.id == "7"
    assert (log.duration, log.status) == expected


def test_subscription_user_ids_tolerant() -> None:
    """userIds given as numbers or digits are read; booleans and other text are left out."""
    subscription = Subscription.from_json(
        {"id": "s", "resourceType": "FEATURE", "userIds": [176125, "176129", True, "x", None]}
    )
    assert subscription.user_ids == (176125, 176129)
    assert Subscription.from_json({"id": "s", "resourceType": "FEATURE", "userIds": "176125"}).user_ids == ()


def test_lists_that_are_not_lists_are_refused() -> None:
    """A list answer that is not a list is a response error (not an empty list)."""
    with pytest.raises(VtxResponseError):
        parse_subscription_list({"subscriptions": {"id": "s"}})
    with pytest.raises(VtxResponseError):
        parse_call_log_list({"callLogs": "none"})
    with pytest.raises(VtxResponseError):
        parse_feature_list_checked({"features": None})


def test_feature_list_names_the_invalid_features() -> None:
    """A feature that cannot be read is left out and named (when it has a name), so its held state stays."""
    features, invalid = parse_feature_list_checked(
        {"features": [CFU, {"featName": "CENTRAL_DND", "status": "MAYBE"}, {"status": "ACTIVE"}, "garbage"]}
    )
    assert [feature.name for feature in features] == ["CALL_FORWARD_UNCONDITIONAL"]
    assert invalid == frozenset({"CENTRAL_DND"})


def test_feature_differs_from_a_saved_baseline() -> None:
    """Only its status and its data block count against a baseline; other keys do not."""
    body = {**CFU, "callForwardUnconditionalData": {"destinationUri": "+41215550101"}}
    feature = Feature.from_json(body)
    assert not feature.differs_from({**body, "modifiedOn": "2026-12-06T10:00:00Z"})
    assert feature.differs_from({**body, "status": "ACTIVE" if body["status"] != "ACTIVE" else "INACTIVE"})
    assert feature.differs_from({**body, "callForwardUnconditionalData": {"destinationUri": "+41215550102"}})


def test_feature_copies_its_json_unless_told_not_to() -> None:
    """By default ``raw`` is a copy (the caller's JSON may change); ``copy=False`` keeps the JSON itself."""
    body = {**CFU, "callForwardUnconditionalData": {"destinationUri": "+41215550101"}}
    copied = Feature.from_json(body)
    kept = Feature.from_json(body, copy=False)
    body["callForwardUnconditionalData"]["destinationUri"] = "+41215550102"
    assert copied.forward is not None
    assert copied.forward.destination_uri == "+41215550101"
    assert kept.raw is body
    assert copied != kept


def test_feature_nested_too_deeply_is_refused() -> None:
    """A feature whose JSON nests deeper than Python can copy is refused, not half read."""
    deep: Any = {}
    for _ in range(100_000):
        deep = {"x": deep}
    with pytest.raises(VtxResponseError, match="nested too deeply"):
        Feature.from_json({**CFU, "extra": deep})


def test_destination_needs_a_data_block() -> None:
    """A new destination goes into the forward's data block; a feature without one cannot take it."""
    feature = Feature.from_json(CFU)
    moved = feature.with_destination("+41225662195")
    assert moved.forward is not None
    assert moved.forward.destination_uri == "+41225662195"
    assert feature.forward is not None
    assert feature.forward.destination_uri == "+41791234567"  # the original is not touched
    bare = Feature.from_json({key: value for key, value in CFU.items() if key != "callForwardUnconditionalData"})
    with pytest.raises(TypeError):
        bare.with_destination("+41225662195")
