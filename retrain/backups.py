"""Backups of the files a command changes, so the last change can be undone."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from pathlib import Path
from typing import Dict, List, Optional

from retrain.errors import UserError
from retrain.project import Project
from retrain.yamldoc import write_atomically

KEEP = 30
MANIFEST = "manifest.json"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def backup_root(project: Project) -> Path:
    """Where backups are kept (newest last when sorted)."""
    return project.work_dir / "backups"


def save(project: Project, command: str, before: Dict[Path, str], after: Dict[Path, str]) -> Path:
    """Keep the old content of the files about to change, with what they will contain."""
    root = backup_root(project)
    now = time.time_ns()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now // 1_000_000_000))
    folder = root / f"{stamp}-{now % 1_000_000_000:09d}"
    files = {}
    for path, text in before.items():
        rel = project.relative(path)
        target = folder / "files" / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        files[rel] = _digest(after[path])
    manifest = {"command": command, "time": time.strftime("%Y-%m-%d %H:%M:%S"), "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    for old in sorted(root.iterdir())[:-KEEP]:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def latest(project: Project) -> Optional[Path]:
    """The newest backup, if any."""
    root = backup_root(project)
    folders = sorted(p for p in root.iterdir() if (p / MANIFEST).exists()) if root.exists() else []
    return folders[-1] if folders else None


def describe(folder: Path) -> str:
    """What a backup undoes, for people."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    return f"{manifest['command']} ({manifest['time']}): {', '.join(manifest['files'])}"


def undo(project: Project, force: bool = False) -> List[str]:
    """Restore the files of the newest backup and drop it. Returns the files restored.

    Refuses when a file was changed again since (unless `force`): undoing would lose that.
    """
    folder = latest(project)
    if folder is None:
        raise UserError("There is no change to undo.")
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    changed_since = [
        rel for rel, digest in manifest["files"].items()
        if not (project.root / rel).exists()
        or _digest((project.root / rel).read_text(encoding="utf-8")) != digest
    ]
    if changed_since and not force:
        raise UserError(
            f"{', '.join(changed_since)} changed again after \"{manifest['command']}\", so undoing "
            "it would also throw those later changes away. Nothing was changed. (Maintainers: "
            "python -m retrain undo --force.)"
        )
    for rel in manifest["files"]:
        write_atomically(project.root / rel, (folder / "files" / rel).read_text(encoding="utf-8"))
    shutil.rmtree(folder)
    return list(manifest["files"])
