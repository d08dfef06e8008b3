"""Load a new model into the running Rasa server, without a restart (PUT /model)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import List, Optional

from core.settings import settings


class ReloadError(Exception):
    """The server runs but did not take the new model."""


def server_url() -> str:
    """The Rasa server of this project, on this machine (RASA_HOST and RASA_PORT from .env)."""
    current = settings()
    host = current.rasa_host
    if host in ("0.0.0.0", "::"):  # listening everywhere: reach it on loopback
        host = "127.0.0.1"
    return f"http://{host}:{current.rasa_port}"


def cluster_urls() -> List[str]:
    """The Rasa servers of `make cluster` (CLUSTER_RASA_PORTS) that answer; empty when it
    does not run."""
    urls = [f"http://127.0.0.1:{port}" for port in settings().cluster_rasa_ports]
    return [url for url in urls if is_running(url)]


def is_running(url: str, timeout: float = 3.0) -> bool:
    """Whether a Rasa server answers at `url`."""
    try:
        with urllib.request.urlopen(f"{url}/", timeout=timeout) as response:
            return response.status == 200 and response.read().startswith(b"Hello from Rasa")
    except (OSError, ValueError):
        return False


def is_ready(url: str, timeout: float = 3.0) -> bool:
    """Whether the Rasa server at `url` says it is ready (model and stores: GET /ready)."""
    try:
        with urllib.request.urlopen(f"{url}/webhooks/rest/ready", timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def reload_model(url: str, token: Optional[str], model: Path, timeout: float = 600.0,
                 workers: Optional[int] = None) -> None:
    """Ask the server to load `model`; conversations stay in its tracker store. `workers`:
    its worker processes (default SANIC_WORKERS, as `make run` starts it)."""
    workers = settings().sanic_workers if workers is None else workers
    if workers > 1:
        # PUT /model reaches the one worker that accepts the request: the others would go
        # on answering with the old model.
        raise ReloadError(
            f"the assistant runs {workers} worker processes (SANIC_WORKERS in .env) and a new "
            "model sent to it while running reaches only one of them. Restart it (Ctrl-C, "
            "then `make run`) to use the new model; conversations are kept."
        )
    if not token:
        raise ReloadError(
            "the assistant is running without RASA_API_TOKEN (in .env), so it does not accept "
            "a new model while running. Restart it (Ctrl-C, then `make run`) to use the new "
            "model; conversations are kept."
        )
    query = urllib.parse.urlencode({"token": token})
    request = urllib.request.Request(
        f"{url}/model?{query}",
        data=json.dumps({"model_file": str(model.resolve())}).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status not in (200, 204):
                raise ReloadError(f"the server answered {response.status}")
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            raise ReloadError(
                "the server refused the token: it was started with a different RASA_API_TOKEN. "
                "Restart it (Ctrl-C, then `make run`) to use the new model."
            ) from error
        detail = error.read().decode(errors="replace")[:300]
        raise ReloadError(f"the server answered {error.code}: {detail}") from error
    except OSError as error:
        raise ReloadError(f"could not reach the server: {error}") from error
