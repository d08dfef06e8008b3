"""Shared fixtures: the project paths, the trained model (loaded once), a PostgreSQL server."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import pytest

from core.settings import MODEL_PATH as MODEL
from core.settings import PROJECT, apply_offline_env
from retrain.sandbox import free_port

__all__ = ["MODEL", "PROJECT", "Postgres", "eventually"]

apply_offline_env()


@pytest.fixture(scope="session")
def agent():  # type: ignore[no-untyped-def]
    """The trained assistant (`make train` builds it before the tests)."""
    from rasa.core.agent import Agent

    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    cwd = os.getcwd()
    os.chdir(PROJECT)  # the spaCy pipeline path in config.yml is relative
    try:
        return Agent.load(str(MODEL))
    finally:
        os.chdir(cwd)


def eventually(check: Callable[[], Any], seconds: float = 60) -> Any:
    """The first truthy result of `check` (errors count as not yet) within `seconds`."""
    deadline = time.monotonic() + seconds
    last: Any = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except OSError as error:
            last = error
        time.sleep(0.5)
    raise TimeoutError(f"not within {seconds} s (last error: {last})")



@dataclass
class Postgres:
    """A throw-away PostgreSQL server of the test's own, on a free loopback port."""

    port: int
    base: Path
    bindir: Path
    as_user: List[str]

    def pg_ctl(self, *args: str) -> None:
        """Run pg_ctl on this server's data folder."""
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.base / "data"), *args],
                       check=True, capture_output=True)

    def start(self) -> None:
        """Start it (again); return once it accepts connections."""
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
        self.pg_ctl("-o", options, "-l", str(self.base / "log"), "-w", "start")

    def stop(self) -> None:
        """Stop it (fast: connections are closed)."""
        self.pg_ctl("-m", "fast", "-w", "stop")

    def endpoint(self, store_type: str) -> str:
        """An endpoints.yml `tracker_store` section for this server."""
        return (f"tracker_store:\n  type: {store_type}\n  dialect: postgresql\n  url: 127.0.0.1\n"
                f"  port: {self.port}\n  db: rasa\n  login_db: postgres\n  username: postgres\n")


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    """A throw-away PostgreSQL server (Debian's PostgreSQL, preinstalled), stopped afterwards."""
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    if not found:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql", pytrace=False)
    as_user: List[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if not shutil.which("runuser"):
            pytest.fail("running as root without runuser (util-linux)", pytrace=False)
        as_user = ["runuser", "-u", "nobody", "--"]
    base = Path(tempfile.mkdtemp(prefix="pg-"))
    base.chmod(0o777)
    server = Postgres(free_port(), base, Path(found).resolve().parent, as_user)
    initdb = [str(server.bindir / "initdb"), "-D", str(base / "data"), "-A", "trust", "-U", "postgres"]
    subprocess.run(as_user + initdb, check=True, capture_output=True)
    server.start()
    try:
        yield server
    finally:
        subprocess.run([*as_user, str(server.bindir / "pg_ctl"), "-D", str(base / "data"), "-m", "fast",
                        "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def web_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The whole stack on a copy of the project (tests/browser.py), once per session."""
    from tests.browser import require_installed, running_stack

    require_installed()
    with running_stack(tmp_path_factory.mktemp("web-stack")) as stack:
        yield stack


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (tests/browser.py), for one module's browser tests. Not for the
    session: Playwright's sync API keeps an event loop running in the main thread while
    it is open, and every later test's asyncio.run() would fail."""
    from tests.browser import chromium, require_installed

    require_installed()
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="session")
def staff_account(web_stack: Any) -> Tuple[str, str]:
    """A console account in the stack's STAFF_DB, made as `make staff-user` makes it."""
    from tests.browser import create_staff_account

    name, password = "anna", "a long enough password"
    create_staff_account(web_stack, name, password)
    return name, password
