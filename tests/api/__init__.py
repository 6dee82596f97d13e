"""Tests of the API client on its own (no Home Assistant)."""
