"""Staff accounts, the audit log and the sign-in throttle, in one SQLite file (STAFF_DB).

Only an argon2 hash of each password is kept. The audit log is append-only: the database
itself refuses to change or delete an entry. There are no default accounts: `make
staff-user NAME=...` creates each one.
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import time
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Set, Tuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.settings import PROJECT, settings

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
# Wrong passwords allowed before each further attempt must wait, per user and per address.
FREE_ATTEMPTS = 5
# The wait doubles with every further wrong password, up to MAX_WAIT seconds.
FIRST_WAIT = 2.0
MAX_WAIT = 900.0
# Wrong passwords are forgotten after this long without another one.
FORGET_AFTER = 3600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    hash TEXT NOT NULL,
    created REAL NOT NULL,
    changed REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS failures (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    last REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS dismissed (
    norm TEXT PRIMARY KEY,
    batch INTEGER NOT NULL,
    who TEXT NOT NULL,
    time REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


class AccountError(ValueError):
    """A bad user name or password; the message says what it must be."""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log: who did what, when."""

    time: float
    who: str
    action: str
    detail: str


def staff_db_path() -> Path:
    """STAFF_DB from the settings, relative to the project folder unless absolute."""
    path = Path(settings().staff_db)
    return path if path.is_absolute() else PROJECT / path


def check_name(name: str) -> str:
    """A valid user name (lower-cased), or an AccountError."""
    cleaned = name.strip().lower()
    if not NAME_PATTERN.fullmatch(cleaned):
        raise AccountError(
            "A user name is 1 to 32 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit."
        )
    return cleaned


def check_password(password: str) -> str:
    """A password long enough to keep, or an AccountError."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"The password must be at least {MIN_PASSWORD} characters long.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"The password must be at most {MAX_PASSWORD} characters long.")
    return password


class StaffStore:
    """The accounts, audit log and throttle of one STAFF_DB file (safe across threads)."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        """Open (creating when missing, readable by its owner only) the database at `path`."""
        self.path = path
        self.clock = clock
        self.hasher = PasswordHasher()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        with self._db() as db:
            db.executescript(SCHEMA)
        self._dummy_hash = self.hasher.hash(secrets.token_hex(16))

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction (committed when the block ends without error)."""
        with closing(sqlite3.connect(self.path, timeout=30)) as connection:
            with connection:
                yield connection

    # ----- accounts

    def set_password(self, name: str, password: str, who: str) -> bool:
        """Create the account or reset its password; True when it was created. Audited."""
        name = check_name(name)
        digest = self.hasher.hash(check_password(password))
        now = self.clock()
        with self._db() as db:
            created = db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is None
            db.execute(
                "INSERT INTO users (name, hash, created, changed) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET hash = excluded.hash, changed = excluded.changed",
                (name, digest, now, now),
            )
            db.execute("DELETE FROM failures WHERE key = ?", (f"user:{name}",))
            self._audit(db, who, "account created" if created else "password reset", name)
        return created

    def users(self) -> List[str]:
        """The account names, sorted."""
        with self._db() as db:
            return [row[0] for row in db.execute("SELECT name FROM users ORDER BY name")]

    def exists(self, name: str) -> bool:
        """Whether there is an account called `name`."""
        with self._db() as db:
            return db.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone() is not None

    def password_stamp(self, name: str) -> Optional[str]:
        """When the account's password was last set (None: no such account); sessions keep it."""
        with self._db() as db:
            row = db.execute("SELECT changed FROM users WHERE name = ?", (name,)).fetchone()
        return repr(row[0]) if row else None

    def verify(self, name: str, password: str) -> bool:
        """Whether `password` is the account's (an unknown name takes as long and is False)."""
        try:
            name = check_name(name)
        except AccountError:
            name = ""
        with self._db() as db:
            row = db.execute("SELECT hash FROM users WHERE name = ?", (name,)).fetchone()
        digest = row[0] if row else self._dummy_hash
        try:
            self.hasher.verify(digest, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            return False
        if row is None:
            return False
        if self.hasher.check_needs_rehash(digest):
            with self._db() as db:
                db.execute("UPDATE users SET hash = ? WHERE name = ?", (self.hasher.hash(password), name))
        return True

    # ----- audit log

    def audit(self, who: str, action: str, detail: str = "") -> None:
        """Record a change: who made it, what, and when (now)."""
        with self._db() as db:
            self._audit(db, who, action, detail)

    def _audit(self, db: sqlite3.Connection, who: str, action: str, detail: str) -> None:
        db.execute(
            "INSERT INTO audit (time, who, action, detail) VALUES (?, ?, ?, ?)",
            (self.clock(), who, action, detail),
        )

    def audit_log(self, limit: Optional[int] = None) -> List[AuditEntry]:
        """The audit log, newest first."""
        query = "SELECT time, who, action, detail FROM audit ORDER BY id DESC"
        with self._db() as db:
            rows = db.execute(query + (" LIMIT ?" if limit else ""), (limit,) if limit else ()).fetchall()
        return [AuditEntry(*row) for row in rows]

    # ----- sign-in throttle

    def wait_seconds(self, keys: Tuple[str, ...]) -> float:
        """How long the slowest of `keys` (user:NAME, address:IP) must still wait; 0: go ahead."""
        now = self.clock()
        wait = 0.0
        with self._db() as db:
            for key in keys:
                row = db.execute("SELECT count, last FROM failures WHERE key = ?", (key,)).fetchone()
                if row is None or now - row[1] > FORGET_AFTER or row[0] < FREE_ATTEMPTS:
                    continue
                delay = min(MAX_WAIT, FIRST_WAIT * 2 ** (row[0] - FREE_ATTEMPTS))
                wait = max(wait, row[1] + delay - now)
        return max(wait, 0.0)

    def failed(self, keys: Tuple[str, ...]) -> None:
        """Count a wrong password against each of `keys`."""
        now = self.clock()
        with self._db() as db:
            for key in keys:
                row = db.execute("SELECT count, last FROM failures WHERE key = ?", (key,)).fetchone()
                count = 1 if row is None or now - row[1] > FORGET_AFTER else row[0] + 1
                db.execute(
                    "INSERT INTO failures (key, count, last) VALUES (?, ?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET count = excluded.count, last = excluded.last",
                    (key, count, now),
                )

    def succeeded(self, user_key: str) -> None:
        """Forget the wrong passwords typed for an account once its password is right."""
        with self._db() as db:
            db.execute("DELETE FROM failures WHERE key = ?", (user_key,))

    # ----- questions dismissed from the inbox

    def dismiss(self, norms: List[str], who: str) -> None:
        """Keep these questions (normal forms) out of the inbox, as one batch."""
        with self._db() as db:
            batch = db.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM dismissed").fetchone()[0]
            db.executemany(
                "INSERT OR REPLACE INTO dismissed (norm, batch, who, time) VALUES (?, ?, ?, ?)",
                [(norm, batch, who, self.clock()) for norm in norms],
            )

    def dismissed(self) -> Set[str]:
        """The normal forms of every dismissed question."""
        with self._db() as db:
            return {row[0] for row in db.execute("SELECT norm FROM dismissed")}

    def undismiss_latest(self) -> List[str]:
        """Bring the last batch of dismissed questions back; their normal forms."""
        with self._db() as db:
            rows = db.execute(
                "SELECT norm FROM dismissed WHERE batch = (SELECT MAX(batch) FROM dismissed)"
            ).fetchall()
            db.execute("DELETE FROM dismissed WHERE batch = (SELECT MAX(batch) FROM dismissed)")
        return [row[0] for row in rows]

    # ----- the app's signing key

    def secret_key(self) -> str:
        """The key that signs session cookies, made once and kept (sessions survive restarts)."""
        with self._db() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('secret_key', ?)",
                       (secrets.token_hex(32),))
            return db.execute("SELECT value FROM meta WHERE key = 'secret_key'").fetchone()[0]
