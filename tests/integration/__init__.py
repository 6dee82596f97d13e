"""Tests of the integration running in Home Assistant against the simulator."""
