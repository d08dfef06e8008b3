"""The production units in deploy/systemd/ are valid systemd units (docs/deploy.md)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

from tests.conftest import PROJECT

UNITS = sorted((PROJECT / "deploy" / "systemd").iterdir())


def test_there_is_a_unit_per_process_and_a_target() -> None:
    names = {unit.name for unit in UNITS}
    assert names == {
        "clinic-assistant.target", "clinic-assistant-actions.service",
        "clinic-assistant-rasa.service", "clinic-assistant-web.service",
    }


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units() -> None:
    result = subprocess.run(["systemd-analyze", "verify", *map(str, UNITS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_the_units_serve_as_make_run_does() -> None:
    """The same settings (scripts/env.sh), the action server on loopback, restarts."""
    for unit in UNITS:
        text = unit.read_text()
        if unit.suffix == ".service":
            assert ". scripts/env.sh && " in text and "exec .venv/bin/" in text and "Restart=always" in text
    actions = (PROJECT / "deploy" / "systemd" / "clinic-assistant-actions.service").read_text()
    assert "SANIC_HOST=127.0.0.1" in actions


def exec_start(unit: str) -> list[str]:
    """The command a unit runs, as systemd hands it over: `$NAME` and `${NAME}` replaced by
    the unit's Environment= (empty if not set there, even inside quotes), `$$` by `$`."""
    lines = (PROJECT / "deploy" / "systemd" / unit).read_text().splitlines()
    environment = dict(line[len("Environment="):].split("=", 1) for line in lines
                       if line.startswith("Environment="))
    for line in lines:
        if line.startswith("ExecStart="):
            value = re.sub(r"(?<!\$)\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?",
                           lambda m: environment.get(m.group(1), ""), line[len("ExecStart="):])
            return shlex.split(value.replace("$$", "$"))
    raise AssertionError(f"{unit} has no ExecStart")


@pytest.mark.parametrize(("unit", "expected"), [
    ("clinic-assistant-actions.service", "-m rasa_sdk --port 5055 --actions actions"),
    ("clinic-assistant-rasa.service", "rasa run --endpoints endpoints.yml --credentials credentials.yml "
                                      "-i 127.0.0.1 --port 5005 --cors http://localhost:8080"),
    ("clinic-assistant-web.service", "-m web.serve --host 127.0.0.1 --port 8080"),
])
def test_each_unit_starts_its_process_with_the_settings(unit: str, expected: str) -> None:
    """Run with `exec` replaced by `echo`: the command line the settings of .env.example give."""
    command = exec_start(unit)
    assert command[:2] == ["/bin/bash", "-c"]
    script = command[2].replace("exec .venv/bin/", "exec echo .venv/bin/")
    result = subprocess.run(["bash", "-c", script], cwd=PROJECT, capture_output=True, text=True,
                            env={"PATH": os.environ["PATH"], "PYTHON": sys.executable}, check=True)
    assert expected in result.stdout, result.stdout
