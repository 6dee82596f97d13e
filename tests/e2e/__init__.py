"""End-to-end test in a real browser (run by scripts/e2e)."""
