"""The call ledger: every call log an entry received, durable, in one SQLite file per entry.

Written before the webhook answers 2xx (``synchronous=FULL`` in WAL mode: a commit is on
disk when it returns, so neither a hard kill nor a power cut right after the answer loses
it), deduplicated by call id (the primary key), read for bills. It also keeps the stays
and the runs of Home Assistant (start and last sign of life), from which the windows it
was down are known.

Every method here blocks (file I/O): the rest of the integration calls them through
Home Assistant's executor (``hass.async_add_executor_job``), never on the event loop. One
connection per entry, serialised by a lock (SQLite's own locking then never waits).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
import json
from pathlib import Path
import sqlite3
import threading
from typing import Any, Final

from homeassistant.core import HomeAssistant

from ..api import CallLog
from ..const import DOMAIN

SCHEMA_VERSION: Final = 1
# Columns of ``calls`` that hold a key of the call log; other keys go to ``extra`` (JSON).
_CALL_KEYS: Final = frozenset(
    {
        "id",
        "userId",
        "callStart",
        "duration",
        "direction",
        "callType",
        "status",
        "callPartyNumber",
        "callPartyDialNumber",
    }
)

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS calls (
    call_id TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL,
    start INTEGER NOT NULL,
    duration INTEGER NOT NULL,
    direction TEXT,
    call_type TEXT,
    status INTEGER,
    number TEXT,
    dialled TEXT,
    received INTEGER NOT NULL,
    source TEXT NOT NULL,
    extra TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS calls_by_line ON calls (user_id, start);
CREATE TABLE IF NOT EXISTS legacy_seen (call_id TEXT PRIMARY KEY, handled INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS stays (
    stay_id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    guest TEXT,
    start INTEGER NOT NULL,
    end INTEGER
);
CREATE INDEX IF NOT EXISTS stays_by_line ON stays (user_id, end);
CREATE TABLE IF NOT EXISTS runs (run_id INTEGER PRIMARY KEY, started INTEGER NOT NULL, alive INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS pending_resets (
    user_id INTEGER PRIMARY KEY,
    stay_id INTEGER,
    since INTEGER NOT NULL,
    error TEXT
);
CREATE TABLE IF NOT EXISTS line_logins (user_id INTEGER PRIMARY KEY, login TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS late_charges (call_id TEXT PRIMARY KEY, stay_id INTEGER NOT NULL) WITHOUT ROWID;
"""


class LedgerError(Exception):
    """The ledger file could not be opened, read or written."""


@dataclass(frozen=True, slots=True)
class LedgerCall:
    """One call as the ledger keeps it (times as POSIX seconds)."""

    call_id: str
    user_id: int
    start: int
    duration: int
    direction: str | None
    call_type: str | None
    status: int | None
    number: str | None
    dialled: str | None
    received: int
    source: str

    @classmethod
    def from_call_log(cls, call: CallLog, *, received: int, source: str) -> LedgerCall:
        """Make the ledger row of a parsed call log (a call without start is dated when received)."""
        return cls(
            call_id=call.id,
            user_id=call.user_id,
            start=int(call.call_start.timestamp()) if call.call_start else received,
            duration=call.duration,
            direction=call.direction,
            call_type=call.call_type,
            status=call.status,
            number=call.call_party_number,
            dialled=call.call_party_dial_number,
            received=received,
            source=source,
        )


@dataclass(frozen=True, slots=True)
class Stay:
    """A guest's stay on a line (``end`` None while it is open)."""

    stay_id: int
    user_id: int
    guest: str | None
    start: int
    end: int | None


def ledger_path(hass: HomeAssistant, entry_id: str) -> Path:
    """Return the ledger file of an entry, in Home Assistant's storage folder."""
    return Path(hass.config.path(".storage", f"{DOMAIN}.{entry_id}.ledger.db"))


def remove_ledger(path: Path) -> None:
    """Delete a ledger file and its WAL companions (entry removed). Blocks."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _check_version(version: int) -> None:
    if version > SCHEMA_VERSION:
        raise LedgerError(f"ledger schema {version} is newer than this version knows")


_COLUMNS: Final = "call_id, user_id, start, duration, direction, call_type, status, number, dialled, received, source"


class Ledger:
    """One entry's ledger file. Every method blocks; call them in the executor."""

    def __init__(self, path: Path) -> None:
        """Remember the file; ``open`` opens it."""
        self.path = path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self.run_id: int | None = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LedgerError("the ledger is closed")
        return self._conn

    def open(self, now: int) -> None:
        """Open (create) the file in WAL mode and record the start of this run."""
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
                try:
                    conn.execute("PRAGMA journal_mode=WAL")
                    conn.execute("PRAGMA synchronous=FULL")
                    _check_version(conn.execute("PRAGMA user_version").fetchone()[0])
                    conn.executescript(_SCHEMA)
                    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                    self.run_id = conn.execute("INSERT INTO runs (started, alive) VALUES (?, ?)", (now, now)).lastrowid
                except BaseException:
                    conn.close()
                    raise
            except sqlite3.Error as err:
                raise LedgerError(str(err)) from err
            self._conn = conn

    def close(self, now: int | None = None) -> None:
        """Record the last sign of life (when given) and close."""
        with self._lock:
            if self._conn is None:
                return
            try:
                if now is not None and self.run_id is not None:
                    self._conn.execute("UPDATE runs SET alive = ? WHERE run_id = ?", (now, self.run_id))
            except sqlite3.Error:
                pass
            finally:
                self._conn.close()
                self._conn = None

    def alive(self, now: int) -> None:
        """Record that this run is still up (its window ends no earlier than ``now``)."""
        self._execute("UPDATE runs SET alive = ? WHERE run_id = ?", (now, self.run_id))

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            try:
                return self._db().execute(sql, params)
            except sqlite3.Error as err:
                raise LedgerError(str(err)) from err

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db().execute(sql, params).fetchall()
            except sqlite3.Error as err:
                raise LedgerError(str(err)) from err

    # --- calls ---------------------------------------------------------------------------
    def add_calls(self, rows: Sequence[tuple[LedgerCall, dict[str, Any]]]) -> list[str]:
        """Insert calls not held yet, in one transaction; return the ids that were new.

        ``rows`` pairs each call with its call log as received (keys beyond the columns
        are kept in ``extra``). Ids in ``legacy_seen`` (the seen-id list of earlier
        versions) count as held.
        """
        if not rows:
            return []
        new: list[str] = []
        with self._lock:
            db = self._db()
            try:
                db.execute("BEGIN IMMEDIATE")
                try:
                    for call, raw in rows:
                        if db.execute("SELECT 1 FROM legacy_seen WHERE call_id = ?", (call.call_id,)).fetchone():
                            continue
                        extra = {key: value for key, value in raw.items() if key not in _CALL_KEYS}
                        cursor = db.execute(
                            f"INSERT OR IGNORE INTO calls ({_COLUMNS}, extra) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
                            (
                                call.call_id,
                                call.user_id,
                                call.start,
                                call.duration,
                                call.direction,
                                call.call_type,
                                call.status,
                                call.number,
                                call.dialled,
                                call.received,
                                call.source,
                                json.dumps(extra, separators=(",", ":")) if extra else None,
                            ),
                        )
                        if cursor.rowcount == 1:
                            new.append(call.call_id)
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                raise LedgerError(str(err)) from err
        return new

    def calls(self, user_id: int, start: int, end: int) -> list[LedgerCall]:
        """Return a line's calls that started in [start, end], oldest first."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM calls WHERE user_id = ? AND start BETWEEN ? AND ? ORDER BY start, call_id",  # noqa: S608
            (user_id, start, end),
        )
        return [LedgerCall(*row) for row in rows]

    def call_count(self) -> int:
        """How many calls the ledger holds."""
        return int(self._query("SELECT count(*) FROM calls")[0][0])

    def import_legacy_seen(self, seen: Iterable[tuple[str, int]]) -> None:
        """Take over the seen-id list of an earlier version (those calls are not in the ledger)."""
        with self._lock:
            try:
                with self._db():
                    self._db().executemany("INSERT OR IGNORE INTO legacy_seen VALUES (?, ?)", list(seen))
            except sqlite3.Error as err:
                raise LedgerError(str(err)) from err

    def prune(self, calls_before: int, legacy_before: int) -> int:
        """Delete calls that started before ``calls_before`` (retention); return how many."""
        with self._lock:
            try:
                with self._db():
                    deleted = self._db().execute("DELETE FROM calls WHERE start < ?", (calls_before,)).rowcount
                    self._db().execute("DELETE FROM legacy_seen WHERE handled < ?", (legacy_before,))
                    self._db().execute(
                        "DELETE FROM late_charges WHERE stay_id IN"
                        " (SELECT stay_id FROM stays WHERE end IS NOT NULL AND end < ?)",
                        (calls_before,),
                    )
                    self._db().execute("DELETE FROM stays WHERE end IS NOT NULL AND end < ?", (calls_before,))
                    self._db().execute("DELETE FROM runs WHERE alive < ? AND run_id != ?", (calls_before, self.run_id))
            except sqlite3.Error as err:
                raise LedgerError(str(err)) from err
        return int(deleted)

    # --- stays ---------------------------------------------------------------------------
    def open_stays(self) -> list[Stay]:
        """Return the stays not checked out."""
        return [Stay(*row) for row in self._query("SELECT * FROM stays WHERE end IS NULL ORDER BY start")]

    def stay(self, stay_id: int) -> Stay | None:
        """Return a stay by id (None when unknown)."""
        rows = self._query("SELECT * FROM stays WHERE stay_id = ?", (stay_id,))
        return Stay(*rows[0]) if rows else None

    def check_in(self, user_id: int, guest: str | None, start: int) -> Stay:
        """Start a stay (closing one still open on the line at ``start``)."""
        with self._lock:
            try:
                with self._db():
                    self._db().execute("UPDATE stays SET end = ? WHERE user_id = ? AND end IS NULL", (start, user_id))
                    cursor = self._db().execute(
                        "INSERT INTO stays (user_id, guest, start) VALUES (?, ?, ?)", (user_id, guest, start)
                    )
            except sqlite3.Error as err:
                raise LedgerError(str(err)) from err
        assert cursor.lastrowid is not None
        return Stay(cursor.lastrowid, user_id, guest, start, None)

    def check_out(self, stay_id: int, end: int) -> None:
        """Close a stay."""
        self._execute("UPDATE stays SET end = ? WHERE stay_id = ?", (end, stay_id))

    def stays_between(self, user_id: int, start: int, end: int) -> list[Stay]:
        """Return a line's stays that overlap [start, end], oldest first."""
        rows = self._query(
            "SELECT * FROM stays WHERE user_id = ? AND start <= ? AND (end IS NULL OR end >= ?) ORDER BY start",
            (user_id, end, start),
        )
        return [Stay(*row) for row in rows]

    def closed_stay_at(self, user_id: int, when: int) -> Stay | None:
        """Return the closed stay of a line that ``when`` falls in (None when none)."""
        rows = self._query(
            "SELECT * FROM stays WHERE user_id = ? AND start <= ? AND end IS NOT NULL AND end >= ?"
            " ORDER BY start DESC LIMIT 1",
            (user_id, when, when),
        )
        return Stay(*rows[0]) if rows else None

    def add_late_charge(self, call_id: str, stay_id: int) -> bool:
        """Mark a call as a late charge of a closed stay; return False when it was marked before."""
        return int(self._execute("INSERT OR IGNORE INTO late_charges VALUES (?, ?)", (call_id, stay_id)).rowcount) == 1

    def late_charges(self, stay_id: int) -> frozenset[str]:
        """Return the ids of a stay's late charges."""
        return frozenset(
            row[0] for row in self._query("SELECT call_id FROM late_charges WHERE stay_id = ?", (stay_id,))
        )

    # --- resets left pending at check-out, login names of the account's lines ------------
    def pending_resets(self) -> list[tuple[int, int | None, int, str | None]]:
        """Return the resets still pending: (user_id, stay_id, since, last error)."""
        return [tuple(row) for row in self._query("SELECT user_id, stay_id, since, error FROM pending_resets")]

    def set_pending_reset(self, user_id: int, stay_id: int | None, since: int, error: str | None) -> None:
        """Keep a reset pending (the first ``since`` of a line stays)."""
        self._execute(
            "INSERT INTO pending_resets (user_id, stay_id, since, error) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET error = excluded.error",
            (user_id, stay_id, since, error),
        )

    def clear_pending_reset(self, user_id: int) -> None:
        """Forget a pending reset (the line is back to its baseline, or gone)."""
        self._execute("DELETE FROM pending_resets WHERE user_id = ?", (user_id,))

    def line_logins(self) -> dict[int, str]:
        """Return the login names learned of the account's lines."""
        return {int(user_id): str(login) for user_id, login in self._query("SELECT user_id, login FROM line_logins")}

    def set_line_login(self, user_id: int, login: str) -> None:
        """Keep the login name of a line."""
        self._execute("INSERT OR REPLACE INTO line_logins (user_id, login) VALUES (?, ?)", (user_id, login))

    # --- runs ----------------------------------------------------------------------------
    def downtime(self, start: int, end: int) -> list[tuple[int, int]]:
        """Windows within [start, end] when no run of this entry was up (as far as known).

        Before the first run recorded, the ledger knows nothing: that part is one window too.
        """
        runs = self._query("SELECT started, alive FROM runs ORDER BY started")
        windows: list[tuple[int, int]] = []
        previous_alive: int | None = None
        for started, alive in runs:
            gap_start = start if previous_alive is None else previous_alive
            if started > gap_start:
                windows.append((gap_start, started))
            previous_alive = alive if previous_alive is None else max(previous_alive, alive)
        clipped = [(max(a, start), min(b, end)) for a, b in windows]
        return [(a, b) for a, b in clipped if b > a]
