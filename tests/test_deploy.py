"""The production units in deploy/systemd/ are valid systemd units (docs/deploy.md)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.render_template import render
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


# --- configuration templates (scripts/render_template.py) and the nginx site


def test_templates_fill_the_settings_and_leave_nginx_variables() -> None:
    """`${NAME}` comes from the environment; `$request_body` and `$host` stay nginx's."""
    rendered = render("listen ${PORT};\nmap $request_body $x { }\nset $host;\n", {"PORT": "5005"})
    assert rendered == "listen 5005;\nmap $request_body $x { }\nset $host;\n"
    with pytest.raises(KeyError, match="CLUSTER_LISTEN, PORT"):
        render("${PORT} ${CLUSTER_LISTEN} ${PORT}", {})


def test_the_nginx_site_is_valid_nginx(tmp_path: Path) -> None:
    """deploy/nginx/clinic-assistant.conf, filled as `make cluster` fills it, inside a minimal
    nginx.conf: `nginx -t` accepts it (nginx comes with `make cluster-deps`)."""
    nginx = shutil.which("nginx") or pytest.fail("nginx is missing: make cluster-deps", pytrace=False)
    site = render((PROJECT / "deploy/nginx/clinic-assistant.conf").read_text(), {
        "CLUSTER_UPSTREAM_SERVERS": "    server 127.0.0.1:5011;\n    server 127.0.0.1:5012;",
        "CLUSTER_LISTEN": "127.0.0.1:5005", "MAX_REQUEST_BYTES": "1048576",
    })
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{ client_body_temp_path {tmp_path}; proxy_temp_path {tmp_path};\n"
        f"include {tmp_path}/site.conf; }}\n")
    checked = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf")],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
