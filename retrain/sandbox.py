"""A throw-away copy of the project, for the benchmark and the tests.

Sources, data and the current model are copied (with their times, so make sees nothing
out of date); the virtualenv and the spaCy pipeline are linked, not copied. The copy
gets its own .env: its own port and conversation database, so it never touches a
running assistant or real conversations.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Dict, Optional

from core.settings import MODEL_FILE

# Built by `make install` and `make web-deps` and large: linked into the copy, not copied
# (the page server needs the widget's and Chart.js's files of web/node_modules).
LINKED = (".venv", ".spacy", ".minilm", "web/node_modules")
SKIP = {".git", "models", ".rasa", "results", "node_modules", "__pycache__",
        ".pytest_cache", ".ruff_cache", ".env", ".config", *LINKED}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ignore(folder: str, names: list) -> set:
    return {n for n in names if n in SKIP or n.endswith((".db", ".db-journal"))}


def copy_project(source: Path, target: Path, env: Optional[Dict[str, str]] = None) -> Path:
    """Copy the project at `source` to `target` (which must not exist yet)."""
    shutil.copytree(source, target, ignore=_ignore, symlinks=True)
    for name in LINKED:
        if (source / name).exists():
            (target / name).symlink_to((source / name).resolve())
    model = source / MODEL_FILE
    if model.exists():
        (target / "models").mkdir()
        shutil.copy2(model, target / "models" / model.name)
    settings = {"RASA_HOST": "127.0.0.1", "RASA_PORT": str(free_port()), "ACTION_PORT": str(free_port()),
                "TRACKER_DB": "tracker.db", "RASA_API_TOKEN": ""}
    settings.update(env or {})
    (target / ".env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()), encoding="utf-8")
    return target
