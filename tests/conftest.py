"""Shared fixtures: the project paths, the trained model (loaded once), a PostgreSQL server."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator, List

import pytest

from core.settings import MODEL_PATH as MODEL
from core.settings import PROJECT, apply_offline_env
from retrain.sandbox import free_port

__all__ = ["MODEL", "PROJECT"]

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


@pytest.fixture
def postgres() -> Iterator[int]:
    """A throw-away PostgreSQL server on a free loopback port (Debian's PostgreSQL, preinstalled)."""
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    if not found:
        pytest.fail("PostgreSQL is not installed: apt-get install postgresql", pytrace=False)
    bindir = Path(found).resolve().parent
    as_user: List[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if not shutil.which("runuser"):
            pytest.fail("running as root without runuser (util-linux)", pytrace=False)
        as_user = ["runuser", "-u", "nobody", "--"]
    base = Path(tempfile.mkdtemp(prefix="retrain-pg-"))
    base.chmod(0o777)
    data, port = base / "data", free_port()
    quiet = {"check": True, "capture_output": True}
    initdb = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(as_user + initdb, **quiet)
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1"
    subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"),
                              "-w", "start"], **quiet)
    try:
        yield port
    finally:
        subprocess.run(as_user + [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
