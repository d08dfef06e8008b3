"""Pieces of `make retrain` that need no training: promotion, server reload, messages.

The reload is tested against a small stand-in for Rasa's HTTP API on a free loopback
port (GET / and PUT /model with the token); the real server is in test_retrain_e2e.py.
"""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Iterator, List
from urllib.parse import parse_qs, urlparse

import pytest

from retrain.pipeline import promote, reload_running_server, validation_problems
from retrain.project import Project
from retrain.sandbox import free_port

VALIDATE_OUTPUT = """\
/x/.venv/lib/python3.10/site-packages/rasa/core/tracker_store.py:1044: MovedIn20Warning: Deprecated API
  Base: DeclarativeMeta = declarative_base()
\x1b[93m/x/rasa/shared/utils/io.py:100: UserWarning: The following duplicated intents have been found \
across multiple domain files: faq
  More info at https://rasa.com/docs/rasa/domain
\x1b[0m\x1b[93m/x/rasa/shared/utils/io.py:100: UserWarning: Issue found in 'data/rules.yml':
Found intent 'no_such_intent' in stories which is not part of the domain.
  More info at https://rasa.com/docs/rasa/stories
\x1b[0m2026-11-24 06:23:42 INFO     rasa.validator  - Validating intents...
2026-11-24 06:23:42 ERROR    rasa.validator  - The action 'utter_nothing' is not in the domain.
"""


def test_validation_problems_are_shown_plainly() -> None:
    """Rasa's warnings without paths, colours and known noise."""
    assert validation_problems(VALIDATE_OUTPUT) == [
        "Issue found in 'data/rules.yml': Found intent 'no_such_intent' in stories which is not part "
        "of the domain.",
        "The action 'utter_nothing' is not in the domain.",
    ]


def test_promote_replaces_the_model_and_keeps_the_previous(tmp_path: Path) -> None:
    """The candidate's bytes become models/dry-needling.tar.gz; the old one is kept aside."""
    project = Project(tmp_path)
    project.model.parent.mkdir()
    project.model.write_bytes(b"old model")
    candidate = tmp_path / "candidate.tar.gz"
    candidate.write_bytes(b"new model")
    kept = promote(project, candidate)
    assert project.model.read_bytes() == b"new model"
    assert kept is not None and kept.read_bytes() == b"old model"
    assert not kept.is_relative_to(project.model.parent)  # `rasa run` must not pick it up
    assert [p.name for p in project.model.parent.iterdir()] == ["dry-needling.tar.gz"]


class FakeRasa(BaseHTTPRequestHandler):
    """GET / like Rasa; PUT /model checks the token and records the body."""

    token = "secret"
    loaded: List[str] = []
    ready = True

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """The hello route, and readiness (503 while `ready` is False)."""
        if self.path == "/webhooks/rest/ready" and not self.ready:
            self._reply(503, b'{"status": "not ready"}')
            return
        self._reply(200, b"Hello from Rasa: 3.6.21")

    def do_PUT(self) -> None:  # noqa: N802
        """Model replacement."""
        query = parse_qs(urlparse(self.path).query)
        if query.get("token") != [self.token]:
            self._reply(401, b'{"message": "User is not authenticated."}')
            return
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.loaded.append(body["model_file"])
        self._reply(204, b"")

    def _reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def fake_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """The stand-in on a free port, which RASA_PORT points at."""
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("RASA_PORT", str(port))
    monkeypatch.setenv("RASA_HOST", "0.0.0.0")
    FakeRasa.loaded.clear()
    yield port
    server.shutdown()
    server.server_close()


def test_reload_loads_the_model_with_the_token(fake_server: int, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """One worker: PUT /model?token=... with the absolute model path."""
    monkeypatch.setenv("SANIC_WORKERS", "1")
    monkeypatch.setenv("RASA_API_TOKEN", "secret")
    said: List[str] = []
    assert reload_running_server(Project(tmp_path), said.append)
    assert FakeRasa.loaded == [str(Project(tmp_path).model.resolve())]
    assert "now uses the new model" in said[0]


@pytest.mark.parametrize("token, message", [("", "without RASA_API_TOKEN"), ("wrong", "refused the token")])
def test_reload_problems_are_explained(fake_server: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       token: str, message: str) -> None:
    """No token or the wrong one: False, and the message says to restart."""
    monkeypatch.setenv("SANIC_WORKERS", "1")
    monkeypatch.setenv("RASA_API_TOKEN", token)
    said: List[str] = []
    assert not reload_running_server(Project(tmp_path), said.append)
    assert message in said[0] and "Restart" in said[0]
    assert FakeRasa.loaded == []


class FakeWorkers(FakeRasa):
    """Two worker processes behind one port: whichever takes a request (as the kernel picks,
    here a seeded coin) answers it, and PUT /model loads the model into that one only."""

    models = ["old", "old"]
    coin = random.Random(12)

    @classmethod
    def _next(cls) -> int:
        return cls.coin.randrange(len(cls.models))

    def do_GET(self) -> None:  # noqa: N802
        """GET /status names the model of the worker that answers."""
        if self.path.startswith("/status"):
            self._reply(200, json.dumps({"model_id": self.models[self._next()]}).encode())
            return
        super().do_GET()

    def do_PUT(self) -> None:  # noqa: N802
        """Model replacement, in one worker."""
        super().do_PUT()
        self.models[self._next()] = "new"


def test_several_workers_each_get_the_new_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers (make run's default): the model is sent until every worker serves it."""
    port = free_port()
    server = HTTPServer(("127.0.0.1", port), FakeWorkers)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("RASA_PORT", str(port))
    monkeypatch.setenv("SANIC_WORKERS", "2")
    monkeypatch.setenv("RASA_API_TOKEN", "secret")
    monkeypatch.setattr("retrain.server.model_id", lambda model: "new")
    FakeRasa.loaded = []
    try:
        said: List[str] = []
        assert reload_running_server(Project(tmp_path), said.append), said
        assert FakeWorkers.models == ["new", "new"] and len(FakeRasa.loaded) >= 2
    finally:
        server.shutdown()


def test_no_server_running_is_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing listens on RASA_PORT: the new model is used at the next start."""
    monkeypatch.setenv("RASA_PORT", str(free_port()))
    said: List[str] = []
    assert reload_running_server(Project(tmp_path), said.append)
    assert "not running" in said[0]


def test_the_cluster_gets_the_model_on_each_rasa_server(fake_server: int, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """`make cluster` runs (its ports answer): each server gets PUT /model, one after the other,
    whatever SANIC_WORKERS says (each runs one process)."""
    second = HTTPServer(("127.0.0.1", free_port()), FakeRasa)
    threading.Thread(target=second.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("CLUSTER_RASA_PORTS", f"{fake_server} {second.server_port}")
        monkeypatch.setenv("SANIC_WORKERS", "2")
        monkeypatch.setenv("RASA_API_TOKEN", "secret")
        said: List[str] = []
        assert reload_running_server(Project(tmp_path), said.append)
        assert FakeRasa.loaded == [str(Project(tmp_path).model.resolve())] * 2
        assert "The 2 Rasa servers of the cluster now use the new model" in said[0]
        monkeypatch.setenv("RASA_API_TOKEN", "wrong")
        said.clear()
        assert not reload_running_server(Project(tmp_path), said.append)
        assert "still uses the old model" in said[0] and "refused the token" in said[0]
        monkeypatch.setenv("RASA_API_TOKEN", "secret")
        monkeypatch.setattr(FakeRasa, "ready", False)
        FakeRasa.loaded.clear()
        said.clear()
        assert not reload_running_server(Project(tmp_path), said.append)
        assert len(FakeRasa.loaded) == 1, "the second server got the model before the first was ready"
        assert "does not say it is ready" in said[0]
    finally:
        second.shutdown()
        second.server_close()


def test_the_result_for_the_console_has_each_figure_and_the_reasons() -> None:
    """`retrain --result FILE`: the decision and the comparison figure by figure, as JSON."""
    from retrain.compare import Comparison
    from retrain.heldout import Report
    from retrain.pipeline import REFUSED, Outcome, result_data

    questions = [f"question {n}" for n in range(3)]
    old = Report([(q, "faq/after", "faq/after") for q in questions])
    new = Report([(q, "faq/after", "faq/before") for q in questions])
    comparison = Comparison(new, {"after", "before"}, old, {"after", "before"})
    data = json.loads(json.dumps(result_data(Outcome(REFUSED, None, 1.0, comparison))))
    assert data["code"] == REFUSED and data["accepted"] is False and data["compared"] is True
    figure = next(f for f in data["figures"] if f["name"] == "after")
    assert (figure["old_right"], figure["new_right"], figure["total"], figure["lost"]) == (3, 0, 3, 3)
    assert any(reason.startswith("after: 3 -> 0 of 3") for reason in data["reasons"])
    assert data["broken"] == [[q, "faq/after", "faq/before"] for q in questions]
    assert result_data(Outcome(2)) == {"code": 2, "seconds": 0.0, "report": None}
