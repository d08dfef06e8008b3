"""The production units in deploy/systemd/ are valid systemd units (docs/deploy.md)."""

from __future__ import annotations

import shutil
import subprocess

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
