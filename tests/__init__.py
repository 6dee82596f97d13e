"""Tests of the VTX VoIP integration and its simulator."""
