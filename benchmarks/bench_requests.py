"""API requests per line per hour when the API accepts a PRESENCE subscription and never pushes.

Run with ``scripts/benchmark -k requests_per_line``. Numbers are printed, never asserted
against a threshold.

The simulator accepts every subscription but never delivers PRESENCE pushes (its
``silence_pushes("PRESENCE")``, as an API whose presence payload key is not the inferred
one would). Every line takes a 5-minute call every 10 minutes. Six hours are simulated
with time travel (30 s steps) after the first half hour; every API request is counted
per line and hour, and at each step every line in a call is checked for *On a call* on.
A build that trusts the silent push reads presence every 15 minutes and shows most of
each call as not on a call; one that finds the silence polls presence at its interval.
"""

from __future__ import annotations

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_ON
from homeassistant.core import HomeAssistant

from .bench_push import HOURS, LINES, Setup, _travel, push_setup  # noqa: F401 - push_setup is a fixture
from .conftest import FIRST_USER_ID, record

STEPS_PER_CALL = 20  # a call starts every 10 minutes (30-s steps)...
CALL_STEPS = 10  # ...and lasts 5 minutes
NUMBER = "+41791112233"


async def test_requests_per_line_silent_presence(
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    push_setup: Setup,  # noqa: F811 - the fixture imported from bench_push
) -> None:
    """Requests per line per hour and the share of call time shown as on a call, PRESENCE push silent."""
    simulator, entry = await push_setup(LINES, "client")
    simulator.silence_pushes("PRESENCE")
    assert entry.runtime_data.push.healthy
    user_ids = [FIRST_USER_ID + index for index in range(LINES)]
    on_call = [f"binary_sensor.bench_{index}_on_a_call" for index in range(LINES)]

    async def step(number: int) -> tuple[int, int]:
        if number % STEPS_PER_CALL == 0:
            for user_id in user_ids:
                simulator.start_call(user_id, number=NUMBER)
        elif number % STEPS_PER_CALL == CALL_STEPS:
            for user_id in user_ids:
                simulator.end_call(user_id)
        await simulator.wait_for_pushes()
        await _travel(hass, freezer)
        if number % STEPS_PER_CALL >= CALL_STEPS:
            return 0, 0
        return LINES, sum(hass.states.get(entity_id).state == STATE_ON for entity_id in on_call)

    warm_up = STEPS_PER_CALL * 3  # the first half hour
    for number in range(warm_up):
        await step(number)
    simulator.reset_request_counts()
    in_call = shown = 0
    for number in range(warm_up, warm_up + 2 * 60 * HOURS):
        calls, seen = await step(number)
        in_call, shown = in_call + calls, shown + seen
    counts = simulator.request_counts()
    per_line = {
        "features": counts.get("GET /openapi/v1/users/{user_id}/feat", 0) / LINES / HOURS,
        "presence": counts.get("GET /openapi/v1/users/{user_id}/presence", 0) / LINES / HOURS,
        "call history": counts.get("GET /openapi/v1/users/{user_id}/calllogs", 0) / LINES / HOURS,
    }
    total = simulator.total_requests() / LINES / HOURS
    push = entry.runtime_data.push
    record(
        f"API requests per line per hour, PRESENCE push silent (over {HOURS} simulated hours, {LINES} lines)",
        ["features", "presence", "call history", "other", "total", "on a call shown", "silent found"],
        [
            *(f"{value:.2f}" for value in per_line.values()),
            f"{total - sum(per_line.values()):.2f}",
            f"{total:.2f}",
            f"{100 * shown / in_call:.0f} %",
            ", ".join(getattr(push, "silent_resources", None) or ["-"]),
        ],
    )
