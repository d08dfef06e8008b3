"""The console's Retrain page (/staff/retrain): run `make retrain` or `make rollback` with
one click, follow its progress, read the comparison and the outcome.

The job is the staff command itself (`python -m retrain retrain` or `rollback`, a child
process of the page server): the same steps, rules and file lock as in a terminal,
TensorFlow never loaded into the page server, which keeps serving meanwhile. One job runs
at a time (here, and through the pipeline's lock also against `make retrain` in a
terminal). The running assistant only changes model through PUT /model, so patients are
answered throughout. Starting and finishing a job go to the audit log.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import IO, Any, Callable, Dict, List, Optional, Tuple

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from flask_wtf import FlaskForm

from console.accounts import StaffStore
from retrain.errors import UserError
from retrain.pipeline import FAILED, NOT_RELOADED, PROMOTED, REFUSED, previous_models, replaced_on
from retrain.project import Project

RETRAIN, ROLLBACK = "retrain", "rollback"
RETRAINER = "console.retrainer"
ALREADY_RUNNING = "A retrain is already running: wait for it to finish (its progress is below)."
# "Step 2/4  Training a new model (a minute or two) ...", as retrain/pipeline.py says it.
STEP = re.compile(r"^Step (\d+)/(\d+)\s+(.*?)(?:\s*\.\.\.)?$")
# Where each step of a retrain starts on the bar (percent): training takes most of the time.
RETRAIN_STEP_STARTS = {1: 2, 2: 15, 3: 70, 4: 95}
# Lines of the command's output kept for the page.
KEEP_LINES = 400
# The command's lines about loading the model into the running assistant.
RELOAD_NOTES = ("running assistant", "Rasa server", "The assistant is not running", "WARNING")

# (project, kind, result file) -> the command line of the job
Command = Callable[[Project, str, Path], List[str]]


def staff_command(project: Project, kind: str, result: Path) -> List[str]:
    """`python -m retrain retrain` (as `make retrain`, the result also as JSON) or `rollback`."""
    base = [sys.executable, "-m", "retrain", "--project", str(project.root)]
    return base + (["retrain", "--result", str(result)] if kind == RETRAIN else ["rollback", "--yes"])


@dataclass
class Job:
    """One retrain or rollback: its progress while it runs, its outcome when done."""

    kind: str
    who: str
    started: float
    step: int = 0
    steps: int = 0
    title: str = "Starting"
    output: List[str] = field(default_factory=list)
    finished: Optional[float] = None
    code: Optional[int] = None
    result: Dict[str, Any] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        """Whether it has not finished yet."""
        return self.finished is None

    def heard(self, line: str) -> None:
        """One line of the command's output: keep it, and note a new step."""
        self.output = (self.output + [line])[-KEEP_LINES:]
        found = STEP.match(line.strip())
        if found:
            self.step, self.steps, self.title = int(found[1]), int(found[2]), found[3]

    @property
    def percent(self) -> int:
        """How far it is, by its steps (100 when done)."""
        if not self.running:
            return 100
        if not self.step:
            return 0
        if self.kind == RETRAIN and self.steps == len(RETRAIN_STEP_STARTS):
            return RETRAIN_STEP_STARTS[self.step]
        return round(100 * (self.step - 1) / max(self.steps, 1))

    @property
    def label(self) -> str:
        """The step it is at, as staff read it."""
        if not self.step:
            return "Starting ..."
        return f"Step {self.step} of {self.steps}: {self.title} ..."

    @property
    def level(self) -> str:
        """"ok", "refused" or "failed" (for the page's colours); "" while running."""
        if self.running:
            return ""
        if self.code == PROMOTED:
            return "ok"
        return "refused" if self.code == REFUSED and self.result else "failed"

    @property
    def outcome(self) -> str:
        """What it did, in one sentence ("" while running)."""
        if self.running:
            return ""
        retrain = self.kind == RETRAIN
        if self.code == PROMOTED:
            return ("Installed: the new model does at least as well as the current one and replaces it."
                    if retrain else "Put back: the assistant uses the previous model again.")
        if self.code == NOT_RELOADED:
            return (f"{'Installed' if retrain else 'Put back'}, but the running assistant still uses the "
                    "model it had: see the note below.")
        if retrain and self.code == REFUSED and self.result:
            return ("Refused: the new model is worse, so it was not installed. The assistant keeps the "
                    "current model.")
        if self.code == FAILED:
            return ("Nothing was installed: the assistant keeps the current model." if retrain
                    else "Nothing was put back: the assistant keeps the current model.")
        return (f"The {'retrain' if retrain else 'rollback'} stopped unexpectedly (code {self.code}). "
                "The last lines it wrote are below.")

    @property
    def error(self) -> str:
        """The staff command's error message, when it stopped with one."""
        for at, line in enumerate(self.output):
            if line.startswith("Error: "):
                rest = [x for x in self.output[at + 1:] if x.strip() and x != "Nothing was changed."]
                return "\n".join([line[len("Error: "):]] + [x.strip() for x in rest])
        return ""

    @property
    def notes(self) -> List[str]:
        """What the command said about loading the model into the running assistant."""
        return [line.strip() for line in self.output if any(note in line for note in RELOAD_NOTES)]

    def status(self) -> Dict[str, Any]:
        """The JSON the page's script polls."""
        return {
            "state": "running" if self.running else "finished", "kind": self.kind, "who": self.who,
            "started": self.started, "elapsed": round((self.finished or time.time()) - self.started),
            "step": self.step, "steps": self.steps, "percent": self.percent, "label": self.label,
            "outcome": self.outcome, "level": self.level,
        }


class Retrainer:
    """Runs one job at a time for the project, in the background."""

    def __init__(self, project: Project, staff: StaffStore, command: Command = staff_command) -> None:
        """Jobs on `project`, recorded in `staff`'s audit log, each run as `command` says."""
        self.project = project
        self.staff = staff
        self.command = command
        self.job: Optional[Job] = None
        self.lock = threading.Lock()
        self.thread: Optional[threading.Thread] = None

    def start(self, kind: str, who: str) -> Job:
        """Start a retrain or a rollback; a UserError while one runs."""
        with self.lock:
            if self.job is not None and self.job.running:
                raise UserError(ALREADY_RUNNING)
            if kind == ROLLBACK and not previous_models(self.project):
                raise UserError("There is no previous model to put back.")
            self.project.work_dir.mkdir(parents=True, exist_ok=True)
            result = self.project.work_dir / f"console-{kind}.json"
            result.unlink(missing_ok=True)
            process = subprocess.Popen(
                self.command(self.project, kind, result), cwd=self.project.root, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
            )
            job = self.job = Job(kind, who, time.time())
            self.thread = threading.Thread(target=self._follow, args=(job, process, result), daemon=True)
        what = "started a retrain" if kind == RETRAIN else "started putting back the previous model"
        self.staff.audit(who, what)
        self.thread.start()
        return job

    def _follow(self, job: Job, process: subprocess.Popen[str], result: Path) -> None:
        """Read the job's output as it comes, then its outcome."""
        stream: IO[str] = process.stdout  # type: ignore[assignment]
        for line in stream:
            with self.lock:
                job.heard(line.rstrip("\n"))
        code = process.wait()
        data: Dict[str, Any] = {}
        if result.exists():
            try:
                data = json.loads(result.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                data = {}
        with self.lock:
            job.code, job.result, job.finished = code, data, time.time()
        detail = "; ".join(data.get("reasons", [])) or job.error
        name = "retrain" if job.kind == RETRAIN else "rollback"
        self.staff.audit(job.who, f"{name} finished: {job.outcome}", detail)

    def current(self) -> Optional[Job]:
        """The running job, else the last one (None before the first)."""
        return self.job

    def wait(self, timeout: float) -> bool:
        """Wait for the job to finish (for tests and the CLI); whether it did."""
        thread = self.thread
        if thread is not None:
            thread.join(timeout)
        return self.job is None or not self.job.running


class ButtonForm(FlaskForm):
    """A button with nothing but its CSRF token."""


bp = Blueprint("retraining", __name__, url_prefix="/retrain")


def retrainer() -> Retrainer:
    """The jobs of this app's project."""
    return current_app.extensions[RETRAINER]


def page(error: str = "", status: int = HTTPStatus.OK) -> Tuple[str, int]:
    """The Retrain page: the button, the progress or the last outcome, the rollback button."""
    job = retrainer().current()
    kept = previous_models(retrainer().project)
    return render_template(
        "console/retrain.html", job=job, error=error, form=ButtonForm(),
        previous=replaced_on(kept[-1]) if kept else "", previous_count=len(kept),
    ), status


def _start(kind: str) -> ResponseReturnValue:
    """Start a job from a form; back to the page, with the reason when refused."""
    if not ButtonForm().validate_on_submit():
        return page("Nothing was started: the form was not complete.", HTTPStatus.BAD_REQUEST)
    try:
        retrainer().start(kind, str(current_user.name))
    except UserError as error:
        return page(str(error), HTTPStatus.CONFLICT)
    return redirect(url_for("console.retraining.view"))


@bp.route("")
def view() -> Tuple[str, int]:
    """The Retrain page."""
    return page()


@bp.route("/start", methods=["POST"])
def start() -> ResponseReturnValue:
    """Check, train, compare, then install or refuse (as `make retrain`)."""
    return _start(RETRAIN)


@bp.route("/rollback", methods=["POST"])
def rollback() -> ResponseReturnValue:
    """Put back the model the last retrain replaced (as `make rollback`)."""
    return _start(ROLLBACK)


@bp.route("/status")
def status() -> Response:
    """The running (or last) job's progress, for the page's script."""
    job = retrainer().current()
    return jsonify(job.status() if job is not None else {"state": "idle"})
