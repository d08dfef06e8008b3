"""Staff accounts of the clinic console (console/accounts.py, `make staff-user`)."""

from __future__ import annotations

import io
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from console.accounts import FIRST_WAIT, FORGET_AFTER, FREE_ATTEMPTS, AccountError, StaffStore
from console.users import read_password
from tests.conftest import PROJECT

PASSWORD = "correct horse battery"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def staff_user(db: Path, name: str, stdin: str) -> subprocess.CompletedProcess:
    """The command `make staff-user` runs, with the password piped in (not a terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "console.users", "--", name], input=stdin, text=True,
        capture_output=True, cwd=PROJECT, env={**os.environ, "STAFF_DB": str(db)}, timeout=60,
    )


def test_staff_user_creates_an_account_from_one_line_of_stdin(tmp_path: Path) -> None:
    db = tmp_path / "staff.db"
    done = staff_user(db, "Anna", PASSWORD + "\nignored second line\n")
    assert done.returncode == 0, done.stderr
    assert "Created the account 'anna'" in done.stdout
    store = StaffStore(db)
    assert store.users() == ["anna"]
    assert store.verify("anna", PASSWORD) and store.verify("ANNA", PASSWORD)
    assert not store.verify("anna", "ignored second line")
    raw = db.read_bytes()
    assert PASSWORD.encode() not in raw and b"$argon2id$" in raw
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    [entry] = store.audit_log()
    assert (entry.action, entry.detail) == ("account created", "anna")
    assert entry.who.endswith("(terminal)")


def test_staff_user_resets_a_password_and_audits_it(tmp_path: Path) -> None:
    db = tmp_path / "staff.db"
    assert staff_user(db, "anna", PASSWORD + "\n").returncode == 0
    done = staff_user(db, "anna", "another long password\n")
    assert done.returncode == 0 and "Changed the password of 'anna'" in done.stdout
    store = StaffStore(db)
    assert not store.verify("anna", PASSWORD) and store.verify("anna", "another long password")
    assert [e.action for e in store.audit_log()] == ["password reset", "account created"]


@pytest.mark.parametrize(
    "name, stdin, message",
    [
        ("anna", "short\n", "at least 10 characters"),
        ("anna", "", "No password on standard input"),
        ("anna", "x" * 2000 + "\n", "at most 1024 characters"),
        ("<b>anna</b>", PASSWORD + "\n", "A user name is 1 to 32 letters"),
        ("-rf", PASSWORD + "\n", "A user name is 1 to 32 letters"),
        ("", PASSWORD + "\n", "A user name is 1 to 32 letters"),
    ],
)
def test_staff_user_refuses_bad_input_and_changes_nothing(
    tmp_path: Path, name: str, stdin: str, message: str
) -> None:
    db = tmp_path / "staff.db"
    done = staff_user(db, name, stdin)
    assert done.returncode == 2 and message in done.stderr
    assert not db.exists() or StaffStore(db).users() == []


def test_at_a_terminal_the_password_is_asked_twice() -> None:
    asked: List[str] = []

    def typed(*answers: str):  # type: ignore[no-untyped-def]
        replies = iter(answers)

        def ask(prompt: str) -> str:
            asked.append(prompt)
            return next(replies)

        return ask

    stdin = io.StringIO("not read at a terminal\n")
    assert read_password(stdin, typed(PASSWORD, PASSWORD), terminal=True) == PASSWORD
    assert asked == ["New password: ", "The same password again: "]
    with pytest.raises(AccountError, match="differ"):
        read_password(stdin, typed(PASSWORD, PASSWORD + "!"), terminal=True)
    with pytest.raises(AccountError, match="at least"):
        read_password(stdin, typed("short", "short"), terminal=True)
    assert stdin.read() == "not read at a terminal\n"


def test_there_are_no_default_accounts(tmp_path: Path) -> None:
    store = StaffStore(tmp_path / "staff.db")
    assert store.users() == []
    for name, password in (("admin", "admin"), ("staff", "staff"), ("", "")):
        assert not store.verify(name, password)


def test_the_audit_log_cannot_be_changed_or_deleted(tmp_path: Path) -> None:
    store = StaffStore(tmp_path / "staff.db")
    store.audit("anna", "example given", "faq/what_is")
    with sqlite3.connect(store.path) as db:
        for statement in ("UPDATE audit SET who = 'mallory'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement)
    assert [(e.who, e.action) for e in store.audit_log()] == [("anna", "example given")]


def test_wrong_passwords_make_each_further_attempt_wait_longer(tmp_path: Path) -> None:
    clock = Clock()
    store = StaffStore(tmp_path / "staff.db", clock=clock)
    keys = ("user:anna", "address:10.0.0.7")
    for _ in range(FREE_ATTEMPTS - 1):
        store.failed(keys)
        assert store.wait_seconds(keys) == 0
    store.failed(keys)
    assert store.wait_seconds(keys) == FIRST_WAIT
    assert store.wait_seconds(("address:10.0.0.7",)) == FIRST_WAIT  # per address too
    assert store.wait_seconds(("user:other", "address:10.0.0.8")) == 0
    clock.now += FIRST_WAIT
    assert store.wait_seconds(keys) == 0
    store.failed(keys)
    assert store.wait_seconds(keys) == 2 * FIRST_WAIT
    store.succeeded("user:anna")
    assert store.wait_seconds(("user:anna",)) == 0
    assert store.wait_seconds(("address:10.0.0.7",)) == 2 * FIRST_WAIT
    clock.now += FORGET_AFTER + 1
    assert store.wait_seconds(keys) == 0


def test_the_signing_key_is_made_once_and_kept(tmp_path: Path) -> None:
    first = StaffStore(tmp_path / "staff.db").secret_key()
    assert len(first) == 64 and StaffStore(tmp_path / "staff.db").secret_key() == first
    assert StaffStore(tmp_path / "other.db").secret_key() != first


def test_make_staff_user_runs_the_command_with_the_name_quoted() -> None:
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "staff-user", "NAME=o'brien; rm -rf x"],
        cwd=PROJECT, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "-m console.users -- 'o'\\''brien; rm -rf x'" in done.stdout
