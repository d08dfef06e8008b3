"""The console's Retrain page (console/retraining.py, /staff/retrain), with Flask's test client
against the real app.

The flow tests run a stand-in for the staff command (a small script that says the
pipeline's steps and waits to be let go); the last tests run the real `python -m retrain`
on one temporary copy of the whole project: broken data refused, then one real training
promoted and loaded into a stand-in Rasa server, then rolled back.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
from http.server import HTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from flask import Flask
from flask.testing import FlaskClient

from console.accounts import StaffStore
from console.retraining import RETRAINER, Retrainer, staff_command
from retrain.project import Project
from retrain.sandbox import copy_project, free_port
from tests import test_console_inbox as inbox_tests
from tests.conftest import MODEL, PROJECT, eventually
from tests.test_console_signin import CONFIG, PASSWORD, csrf_token, sign_in
from tests.test_retrain_pipeline import FakeRasa
from web.serve import Site, create_app

# The inbox tests' fixtures: a temporary copy of the project's data, its staff.
project, staff = inbox_tests.project, inbox_tests.staff

REFUSAL: Dict[str, Any] = {
    "code": 1, "accepted": False, "compared": True,
    "reasons": ["exercise_after: 9 -> 4 of 9 test questions right (5 fewer; at most 2 allowed)"],
    "warnings": [],
    "figures": [
        {"name": "FAQ accuracy", "kind": "faq", "old": 0.95, "new": 0.9, "old_right": 95, "new_right": 90,
         "total": 100, "allowed": 0.03, "lost": 5},
        {"name": "exercise_after", "kind": "key", "old": 1.0, "new": 0.444, "old_right": 9, "new_right": 4,
         "total": 9, "allowed": 2, "lost": 5},
        {"name": "vs_acupuncture", "kind": "key", "old": 0.8, "new": 0.9, "old_right": 8, "new_right": 9,
         "total": 10, "allowed": 2, "lost": -1},
    ],
    "new_faqs": {}, "broken": [["can I go to the gym after", "faq/exercise_after", "faq/vs_acupuncture"]],
}

# A stand-in for `python -m retrain retrain --result FILE`: the pipeline's first two steps,
# then it waits for the file `gate`, writes the refusal and exits with its code.
STAND_IN = """
import pathlib, sys, time
result, gate, data = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3]
print("Step 1/4  Checking the training data ...", flush=True)
print("  done in 3 s", flush=True)
print("Step 2/4  Training a new model (a minute or two) ...", flush=True)
while not gate.exists():
    time.sleep(0.05)
print("REFUSED: the new model is worse", flush=True)
result.write_text(data)
sys.exit(1)
"""


def app_for(root: Path, staff: StaffStore) -> Flask:
    return create_app(Site(CONFIG), staff, Project(root))


@pytest.fixture()
def gate(tmp_path: Path) -> Path:
    """Created to let the stand-in finish."""
    return tmp_path / "go"


@pytest.fixture()
def app(project: Path, staff: StaffStore, gate: Path) -> Iterator[Flask]:
    """The console, its jobs run by the stand-in."""
    app = app_for(project, staff)

    def stand_in(_project: Project, _kind: str, result: Path) -> List[str]:
        return [sys.executable, "-c", STAND_IN, str(result), str(gate), json.dumps(REFUSAL)]

    app.extensions[RETRAINER] = Retrainer(Project(project), staff, stand_in)
    yield app
    gate.touch()  # never leave a stand-in waiting
    app.extensions[RETRAINER].wait(30)


@pytest.fixture()
def client(app: Flask) -> Iterator[FlaskClient]:
    """Signed in as anna."""
    with app.test_client() as client:
        assert sign_in(client).status_code == 302
        yield client


def start(client: FlaskClient, action: str = "start"):  # type: ignore[no-untyped-def]
    """Press a button of the Retrain page (with the page's CSRF token)."""
    page = client.get("/staff/retrain")
    return client.post(f"/staff/retrain/{action}", data={"csrf_token": csrf_token(page.text)})


def status(client: FlaskClient) -> Dict[str, Any]:
    response = client.get("/staff/retrain/status")
    assert response.status_code == 200 and response.is_json
    return response.get_json()


def wait_until_step(client: FlaskClient, step: int) -> Dict[str, Any]:
    """The status once the job says it is at `step`."""
    return eventually(lambda: (s := status(client))["step"] == step and s, seconds=30)


def test_signed_out_the_page_leads_to_sign_in_and_nothing_starts(app: Flask) -> None:
    with app.test_client() as anonymous:
        for url in ("/staff/retrain", "/staff/retrain/status"):
            response = anonymous.get(url)
            assert response.status_code == 302 and "/staff/signin" in response.headers["Location"]
        assert anonymous.post("/staff/retrain/start").status_code == 400  # no CSRF token
        assert anonymous.post("/staff/retrain/rollback").status_code == 400
    assert app.extensions[RETRAINER].current() is None


def test_the_button_needs_the_csrf_token(client: FlaskClient, app: Flask) -> None:
    page = client.get("/staff/retrain")
    assert page.status_code == 200
    assert 'href="/staff/retrain">Retrain</a>' in page.text  # the nav link
    assert client.post("/staff/retrain/start").status_code == 400
    assert client.post("/staff/retrain/start", data={"csrf_token": "forged"}).status_code == 400
    assert app.extensions[RETRAINER].current() is None
    assert status(client) == {"state": "idle"}


def test_progress_while_it_runs_one_at_a_time_then_the_outcome(
    client: FlaskClient, app: Flask, gate: Path, staff: StaffStore
) -> None:
    assert start(client).status_code == 302
    running = wait_until_step(client, 2)
    assert running["state"] == "running" and running["who"] == "anna" and running["kind"] == "retrain"
    assert running["label"] == "Step 2 of 4: Training a new model (a minute or two) ..."
    assert running["percent"] == 15

    page = client.get("/staff/retrain").text
    assert re.search(r'<progress id="retrain-bar" max="100" value="15">', page)
    assert 'role="status" aria-live="polite">Step 2 of 4: Training a new model' in page
    assert '<script src="/static/retrain.js" defer></script>' in page
    assert '<noscript><meta http-equiv="refresh" content="10"></noscript>' in page
    assert "Retrain now" not in page  # no second button while it runs

    again = client.post("/staff/retrain/start", data={"csrf_token": csrf_token(page)})
    assert again.status_code == 409
    assert "A retrain is already running" in again.text and 'id="retrain-bar"' in again.text
    assert status(client)["started"] == running["started"]  # still the first one

    gate.touch()
    assert app.extensions[RETRAINER].wait(30)
    done = status(client)
    assert (done["state"], done["level"], done["percent"]) == ("finished", "refused", 100)
    page = client.get("/staff/retrain").text
    assert "Refused: the new model is worse, so it was not installed." in page
    assert REFUSAL["reasons"][0] in page.replace("&gt;", ">")
    rows = re.findall(r"<tr( class=\"worse\")?>\s*<th scope=\"row\"[^>]*>([^<]+)</th>", page)
    assert [(bool(worse), name) for worse, name in rows] == [
        (True, "FAQ accuracy"), (True, "exercise_after"), (False, "vs_acupuncture")]
    assert "can I go to the gym after (should be exercise_after, now vs_acupuncture)" in page
    assert "Retrain now" in page and "<noscript>" not in page

    log = [(entry.who, entry.action) for entry in staff.audit_log()]
    assert ("anna", "started a retrain") in log
    assert ("anna", "retrain finished: " + "Refused: the new model is worse, so it was not installed. "
            "The assistant keeps the current model.") in log


def test_the_script_is_served_with_the_page_and_allowed_by_the_csp(client: FlaskClient) -> None:
    script = client.get("/static/retrain.js")
    assert script.status_code == 200 and "/staff/retrain/status" in script.text
    csp = client.get("/staff/retrain").headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "connect-src 'self'" in csp


def test_no_rollback_without_a_previous_model(client: FlaskClient, app: Flask) -> None:
    page = client.get("/staff/retrain").text
    assert "There is no previous model to put back" in page and "/staff/retrain/rollback" not in page
    refused = start(client, "rollback")
    assert refused.status_code == 409 and app.extensions[RETRAINER].current() is None


# ----- the real staff command, on one copy of the project


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def whole_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of the whole project (sources, data, the current model), its own .env."""
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first")
    saved = dict(os.environ)
    root = copy_project(PROJECT, tmp_path_factory.mktemp("console-retrain") / "project",
                        env={"RASA_API_TOKEN": "secret", "SANIC_WORKERS": "1"})
    yield root
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture()
def real(whole_copy: Path, tmp_path: Path) -> Iterator[FlaskClient]:
    """The console on the copy, running the real staff command; signed in as anna."""
    staff = StaffStore(tmp_path / "staff.db")
    staff.set_password("anna", PASSWORD, "test")
    app = app_for(whole_copy, staff)
    assert app.extensions[RETRAINER].command is staff_command
    with app.test_client() as client:
        assert sign_in(client).status_code == 302
        yield client
    app.extensions[RETRAINER].wait(60)


@pytest.fixture()
def rasa(monkeypatch: pytest.MonkeyPatch) -> Iterator[List[str]]:
    """A stand-in Rasa server (GET /, PUT /model) where the copy's RASA_PORT points; the
    models it was asked to load."""
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), FakeRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("RASA_PORT", str(port))  # the staff command's environment wins over .env
    FakeRasa.loaded.clear()
    yield FakeRasa.loaded
    server.shutdown()
    server.server_close()


def finished(client: FlaskClient, seconds: float = 900) -> Dict[str, Any]:
    """The status once the job is over."""
    return eventually(lambda: (s := status(client))["state"] == "finished" and s, seconds=seconds)


def test_broken_data_is_refused_with_the_reason_and_the_model_kept(
    real: FlaskClient, whole_copy: Path
) -> None:
    faq = whole_copy / "data" / "faq.yml"
    original, served = faq.read_bytes(), digest(whole_copy / "models" / "dry-needling.tar.gz")
    faq.write_text("version: \"3.1\"\nnlu:\n- intent: faq/broken\n  examples: [unclosed\n")
    try:
        assert start(real).status_code == 302
        done = finished(real, 300)
    finally:
        faq.write_bytes(original)
    assert done["level"] == "failed", done
    page = real.get("/staff/retrain").text
    assert "Nothing was installed: the assistant keeps the current model." in page
    assert "data/faq.yml" in page  # the reason names the broken file
    assert digest(whole_copy / "models" / "dry-needling.tar.gz") == served
    assert sorted(p.name for p in (whole_copy / "models").iterdir()) == ["dry-needling.tar.gz"]


def test_a_real_retrain_promotes_and_the_rollback_puts_the_old_model_back(
    real: FlaskClient, whole_copy: Path, rasa: List[str]
) -> None:
    model = whole_copy / "models" / "dry-needling.tar.gz"
    before = model.read_bytes()
    assert start(real).status_code == 302
    done = finished(real)
    page = real.get("/staff/retrain").text
    assert done["level"] == "ok", page
    assert "Installed: the new model does at least as well as the current one" in page
    assert 'class="comparison"' in page and "exercise_after" in page  # the per-FAQ figures
    assert "now uses the new model" in page  # loaded into the running server
    assert rasa == [str(model.resolve())]
    assert model.read_bytes() != before

    assert "Put back the previous model" in page
    assert start(real, "rollback").status_code == 302
    done = finished(real, 120)
    assert done["level"] == "ok", real.get("/staff/retrain").text
    assert model.read_bytes() == before  # byte for byte
    assert rasa == [str(model.resolve())] * 2
    assert not list((whole_copy / "results" / "retrain" / "previous").glob("*.tar.gz"))
