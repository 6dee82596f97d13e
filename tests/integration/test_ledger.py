"""The ledger file on its own: a real process killed with SIGKILL right after a write, and bad files."""

from __future__ import annotations

from pathlib import Path
import signal
import subprocess
import sys
import textwrap

import pytest

from custom_components.vtx_voip.billing.ledger import Ledger, LedgerCall, LedgerError, remove_ledger

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from custom_components.vtx_voip.billing.ledger import Ledger, LedgerCall
    ledger = Ledger(__import__("pathlib").Path(sys.argv[1]))
    ledger.open(1_800_000_000)
    ledger.check_in(176125, "Guest", 1_800_000_000)
    rows = [
        (LedgerCall(f"call-{i}", 176125, 1_800_000_100 + i, 60, "OUTGOING", "VOICE", 804,
                    "+41225117902", "0225117902", 1_800_000_200, "push"), {"id": f"call-{i}", "extra": i})
        for i in range(50)
    ]
    new = ledger.add_calls(rows)
    print(len(new), flush=True)
    time.sleep(600)
    """
)


def _call(call_id: str, start: int = 1_800_000_100) -> LedgerCall:
    return LedgerCall(call_id, 176125, start, 5, "OUTGOING", None, None, "+41225117902", None, start, "push")


def test_sigkill_right_after_a_write_loses_nothing(tmp_path: Path) -> None:
    """A process that wrote calls and is then killed (SIGKILL, no shutdown of any kind) left them on disk."""
    path = tmp_path / "ledger.db"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), str(ROOT)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "50"  # add_calls returned: committed
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL
    assert Path(f"{path}-wal").exists(), "killed before any checkpoint: the calls are in the WAL"
    ledger = Ledger(path)
    ledger.open(1_800_001_000)
    try:
        calls = ledger.calls(176125, 0, 2_000_000_000)
        assert [call.call_id for call in calls] == [f"call-{i}" for i in range(50)]
        [stay] = ledger.open_stays()
        assert stay.guest == "Guest"
        # The killed run's last sign of life was its start: down until this run.
        assert ledger.downtime(1_800_000_000, 1_800_002_000) == [(1_800_000_000, 1_800_001_000)]
    finally:
        ledger.close()


def test_dedup_downtime_and_prune(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    ledger = Ledger(path)
    ledger.open(1000)
    assert ledger.add_calls([(_call("a", 1100), {}), (_call("b", 1200), {}), (_call("a", 1100), {})]) == ["a", "b"]
    assert ledger.add_calls([(_call("b", 1200), {})]) == []
    ledger.alive(1500)
    ledger.close(1600)
    again = Ledger(path)
    again.open(2000)
    # Before the first run, and between the runs.
    assert again.downtime(500, 3000) == [(500, 1000), (1600, 2000)]
    assert again.downtime(1700, 1800) == [(1700, 1800)]
    assert again.downtime(2100, 2200) == []
    assert again.prune(1150, 0) == 1
    assert [call.call_id for call in again.calls(176125, 0, 5000)] == ["b"]
    stay = again.check_in(176125, None, 2000)
    again.check_out(stay.stay_id, 2100)
    assert again.stay(stay.stay_id) is not None
    assert again.stay(999) is None
    assert again.call_count() == 1
    again.close()
    with pytest.raises(LedgerError):
        again.calls(176125, 0, 1)
    remove_ledger(path)
    assert not path.exists()


def test_a_file_that_is_not_a_ledger(tmp_path: Path) -> None:
    """A damaged file is a LedgerError (the entry then retries its set-up), never a crash."""
    path = tmp_path / "ledger.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(LedgerError):
        Ledger(path).open(1)
    newer = tmp_path / "newer.db"
    ledger = Ledger(newer)
    ledger.open(1)
    ledger._execute("PRAGMA user_version=99")
    ledger.close()
    with pytest.raises(LedgerError, match="newer"):
        Ledger(newer).open(2)
