"""Load a new model into the running Rasa server, without a restart (PUT /model)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
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
    its worker processes (default SANIC_WORKERS, as `make run` starts it).

    PUT /model reaches the one worker that takes the request, so with several it is sent to
    each at once, and again until every answer of GET /status, over many requests, names it."""
    workers = settings().sanic_workers if workers is None else workers
    if not token:
        raise ReloadError(
            "the assistant is running without RASA_API_TOKEN (in .env), so it does not accept "
            "a new model while running. Restart it (Ctrl-C, then `make run`) to use the new "
            "model; conversations are kept."
        )
    wanted = model_id(model) if workers > 1 else None
    for _ in range(4):
        # as many requests at once as there are workers: one busy loading the model does
        # not take the next request, so the others each get one
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda _: _put_model(url, token, model, timeout), range(workers)))
        if workers <= 1 or all(served_model(url, token) == wanted for _ in range(8 * workers)):
            return
    raise ReloadError(
        f"some of its {workers} worker processes (SANIC_WORKERS in .env) still use the old model. "
        "Restart it (Ctrl-C, then `make run`) to use the new model; conversations are kept."
    )


def model_id(model: Path) -> str:
    """The id Rasa gives the model in `model` (its GET /status names the one it serves)."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    return LocalModelStorage.metadata_from_archive(model).model_id


def served_model(url: str, token: str) -> Optional[str]:
    """The id of the model of whichever worker answers GET /status (None if none answers)."""
    query = urllib.parse.urlencode({"token": token})
    try:
        with urllib.request.urlopen(f"{url}/status?{query}", timeout=30) as response:
            return json.loads(response.read()).get("model_id")
    except (OSError, ValueError):
        return None


def _put_model(url: str, token: str, model: Path, timeout: float) -> None:
    """One PUT /model with the token; ReloadError with the reason when refused."""
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
