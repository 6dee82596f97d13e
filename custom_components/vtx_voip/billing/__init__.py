"""Calls and bills: the call ledger, stays, tariffs, numbering, bills and their export."""
