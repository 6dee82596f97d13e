"""Edges of the push lifecycle: API errors around subscriptions, calls after a stop."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from vtx_simulator import Simulator


async def test_listing_leftovers_fails_at_setup(
    hass: HomeAssistant, simulator: Simulator, config_entry: MockConfigEntry
) -> None:
    """A failed listing of old subscriptions does not stop the entry from subscribing."""
    simulator.add_fault("status", status=503, method="GET", path="/openapi/v1/subscriptions")
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    push = config_entry.runtime_data.push
    assert push is not None
    assert push.healthy
    assert {sub["resourceType"] for sub in simulator.subscriptions()} == {"FEATURE", "CALL_LOG", "PRESENCE"}


async def test_verify_and_delete_with_api_errors(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    push = init_integration.runtime_data.push
    assert push is not None
    held = {sub["id"] for sub in simulator.subscriptions()}
    simulator.fail_next(503)
    await push.async_verify()  # the listing failed: nothing is changed
    assert {sub["id"] for sub in simulator.subscriptions()} == held
    await push.lifecycle._async_delete("no-such-subscription")  # 404: already gone, no error
    assert {sub["id"] for sub in simulator.subscriptions()} == held


async def test_nothing_runs_after_stop(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    push = init_integration.runtime_data.push
    assert push is not None
    held = simulator.subscriptions()
    assert len(held) == 3
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    simulator.reset_request_counts()
    await push.async_renew()
    await push.async_verify()
    await push.lifecycle.async_lines_changed()
    await push.lifecycle.async_replace("FEATURE")
    await push._async_url_may_have_changed()
    push.lifecycle._schedule_next(failed=True)
    assert simulator.total_requests() == 0
    # Unload leaves the entry's subscriptions at the API.
    assert simulator.subscriptions() == held
