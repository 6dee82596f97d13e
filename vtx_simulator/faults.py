"""Fault injection on the simulated API: error statuses, hangs, malformed JSON, lost answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

FaultKind = Literal["status", "hang", "malformed", "lost_answer"]
FAULT_KINDS: Final = ("status", "hang", "malformed", "lost_answer")
# What a "malformed" fault answers with (HTTP 200, application/json).
MALFORMED_BODY: Final = '{\n "features" : [ {\n  "id" : 28'


@dataclass(slots=True)
class ApiFault:
    """One fault rule: applies to the next ``count`` matching requests (``None``: until cleared).

    ``status``: answer that HTTP status (Spring body; ``Retry-After`` if ``retry_after``).
    ``hang``: wait ``seconds`` before handling the request normally.
    ``malformed``: answer 200 with a truncated JSON body.
    ``lost_answer``: handle the request (e.g. create the subscription), then answer
    ``status`` instead of its answer, as when the answer is lost on the way back.
    ``method``/``path`` restrict the rule (``path``: the route template, e.g.
    ``/openapi/v1/feat/{feature_id}``, or any part of the request path).
    """

    kind: FaultKind
    count: int | None = 1
    status: int = 503
    retry_after: float | None = None
    seconds: float = 0.0
    method: str | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        """Validate."""
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}: one of {', '.join(FAULT_KINDS)}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (or None: until cleared)")
        if not 100 <= self.status <= 599:
            raise ValueError(f"invalid HTTP status {self.status}")
        if self.seconds < 0 or (self.retry_after is not None and self.retry_after < 0):
            raise ValueError("durations must not be negative")

    def matches(self, method: str, path: str, template: str) -> bool:
        """Return whether the rule applies to a request."""
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or self.path == template or self.path in path

    def retry_after_header(self) -> str | None:
        """Return the ``Retry-After`` value (whole seconds when integral)."""
        if self.retry_after is None:
            return None
        value = self.retry_after
        return str(int(value)) if value == int(value) else str(value)

    def to_json(self) -> dict[str, Any]:
        """Return the control API's JSON form."""
        return {
            "kind": self.kind,
            "count": self.count,
            "status": self.status,
            "retryAfter": self.retry_after,
            "seconds": self.seconds,
            "method": self.method,
            "path": self.path,
        }


class ApiFaults:
    """Fault rules in the order they were added; the first matching one fires."""

    def __init__(self) -> None:
        """Initialise with no rule."""
        self.rules: list[ApiFault] = []

    def add(self, fault: ApiFault) -> None:
        """Queue a rule."""
        self.rules.append(fault)

    def clear(self) -> None:
        """Drop every rule."""
        self.rules.clear()

    def take(self, method: str, path: str, template: str) -> ApiFault | None:
        """Return the rule that fires for a request (consuming one of its count), if any."""
        for fault in self.rules:
            if fault.matches(method, path, template):
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self.rules.remove(fault)
                return fault
        return None

    def to_json(self) -> list[dict[str, Any]]:
        """Return the control API's JSON form."""
        return [fault.to_json() for fault in self.rules]
