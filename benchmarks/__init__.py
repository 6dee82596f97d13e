"""Benchmarks of the VTX VoIP integration (run with ``scripts/benchmark``)."""
