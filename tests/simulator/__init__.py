"""Tests of the VTX OpenAPI simulator."""
