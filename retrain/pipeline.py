"""`make retrain`: check the data, train a candidate, compare it, promote it or refuse it.

The candidate is trained to results/retrain/ (never into models/, where `rasa run`
would pick up the newest file), scored with the current model on the held-out test
questions, and copied over models/dry-needling.tar.gz only when it is not worse. A
running server then loads it through PUT /model. `make rollback` puts the model that a
promotion replaced back the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple

from core.settings import settings
from retrain.compare import Comparison, Rules
from retrain.errors import UserError
from retrain.heldout import Report
from retrain.project import Project
from retrain.server import ReloadError, cluster_urls, is_ready, is_running, reload_model, server_url
from retrain.trainingdata import FAQ_PREFIX, RESPONSE_PREFIX, TrainingSet

KEEP_PREVIOUS = 3
KEEP_SCORES = 10
Say = Callable[[str], None]

# Exit codes of `retrain`
PROMOTED, REFUSED, FAILED, NOT_RELOADED = 0, 1, 2, 3


@dataclass
class Outcome:
    """What a retrain did."""

    code: int
    report: Optional[Path] = None
    seconds: float = 0.0
    comparison: Optional[Comparison] = None


@contextlib.contextmanager
def exclusive(project: Project) -> Iterator[None]:
    """One retrain at a time in a project folder."""
    project.work_dir.mkdir(parents=True, exist_ok=True)
    with open(project.work_dir / "retrain.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise UserError(
                "Another `make retrain` is running in this folder: wait for it to finish."
            ) from error
        yield


def quiet_rasa() -> None:
    """Keep Rasa's and TensorFlow's log lines out of the staff's way."""
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from rasa.utils.common import configure_logging_and_warnings

    configure_logging_and_warnings(logging.WARNING)
    with contextlib.suppress(Exception):
        from rasa.utils.log_utils import configure_structlog

        configure_structlog(logging.WARNING)


# ----- step 1: check


def check_data(project: Project) -> List[str]:
    """Problems that would make a model useless. Returns warnings (errors raise)."""
    training = TrainingSet.load(project)
    examples = training.examples()
    answers = training.answers()
    keys = {k[len(FAQ_PREFIX):] for k in examples if k.startswith(FAQ_PREFIX)}
    problems = [f"FAQ {k!r} has example questions but no answer" for k in sorted(keys - set(answers))]
    problems += [f"FAQ {k!r} has an answer but no example questions" for k in sorted(set(answers) - keys)]
    if problems:
        raise UserError("The training data is not ready:\n  " + "\n  ".join(problems))
    tested = {k[len(FAQ_PREFIX):] for k in training.examples(test=True) if k.startswith(FAQ_PREFIX)}
    return [
        f"tests/nlu_heldout.yml has questions for FAQ {k!r}, which does not exist"
        for k in sorted(tested - keys)
    ]


def rasa_validate(project: Project) -> None:
    """`rasa data validate --fail-on-warnings`, as `make validate` runs it."""
    env = {**os.environ, "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
           "PYTHONWARNINGS": "ignore::DeprecationWarning"}
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "data", "validate", "--fail-on-warnings"],
        cwd=project.root, capture_output=True, text=True, env=env,
    )
    if result.returncode != 0:
        problems = validation_problems(result.stdout + "\n" + result.stderr)
        raise UserError(
            "Rasa's data check failed, so nothing was trained:\n  "
            + "\n  ".join(problems[-20:] or ["(no details: run `make validate`)"])
        )


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NOISE = ("duplicated intents have been found across multiple domain files: faq",)


def validation_problems(output: str) -> List[str]:
    """The warnings and errors in `rasa data validate` output, without paths and colours."""
    problems: List[str] = []
    keep = False
    for raw in output.splitlines():
        line = _ANSI.sub("", raw).strip()
        if "More info at" in line or re.search(r"\s(INFO|DEBUG)\s", line):
            keep = False
            continue
        if "UserWarning: " in line:
            line, keep = line.split("UserWarning: ", 1)[1], True
        elif re.search(r"\s(WARNING|ERROR)\s", line):
            line, keep = line.split(" - ", 1)[-1], True
        elif not keep or not line or line.startswith("/") or "Warning:" in line:
            keep = False
            continue
        elif problems:
            problems[-1] = f"{problems[-1]} {line}".strip()
            continue
        if any(noise in line for noise in _NOISE):
            keep = False
            continue
        problems.append(line)
    return problems


# ----- step 2: train


def train_candidate(project: Project) -> Path:
    """Train a model from the current data into results/retrain/candidate.tar.gz."""
    from rasa.model_training import train

    project.work_dir.mkdir(parents=True, exist_ok=True)
    result = train(
        domain=str(project.root / "domain.yml"),
        config=str(project.root / "config.yml"),
        training_files=[str(project.data_dir)],
        output=str(project.work_dir),
        fixed_model_name="candidate",
    )
    if result.code != 0 or not result.model:
        raise UserError("Training failed (see the messages above); the current model is unchanged.")
    return Path(result.model)


# ----- step 3: score


def _digest(path: Path) -> str:
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha.update(chunk)
    return sha.hexdigest()


def score_key(project: Project, model: Path) -> str:
    """Identifies a score: the model, the test questions and the code that scores them."""
    parts = [_digest(model), _digest(project.test_file)]
    code = sorted((project.root / "components").glob("*.py")) + [project.root / "bench" / "heldout.py"]
    parts += [_digest(p) for p in code if p.exists()]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:32]


def score(project: Project, model: Path, say: Say) -> Tuple[Report, Set[str]]:
    """The held-out Report of a model and the FAQ keys it knows (cached by score_key)."""
    from retrain.heldout import evaluate

    cache = project.work_dir / "scores" / f"{score_key(project, model)}.json"
    if cache.exists():
        data = json.loads(cache.read_text())
        return Report([tuple(r) for r in data["rows"]]), set(data["keys"])
    from rasa.core.agent import Agent

    say(f"  scoring {project.relative(model)} ...")
    agent = Agent.load(str(model))
    names = [str(n) for n in agent.domain.responses]
    keys = {n[len(RESPONSE_PREFIX):] for n in names if n.startswith(RESPONSE_PREFIX)}
    report = evaluate(agent, project.test_file)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps({"rows": report.rows, "keys": sorted(keys)}))
    for old in sorted(cache.parent.glob("*.json"), key=os.path.getmtime)[:-KEEP_SCORES]:
        old.unlink()
    return report, keys


# ----- step 4: promote


def promote(project: Project, candidate: Path) -> Optional[Path]:
    """Make the candidate the served model. Returns where the previous one was kept."""
    target = project.model
    target.parent.mkdir(parents=True, exist_ok=True)
    kept = None
    if target.exists():
        folder = project.work_dir / "previous"
        folder.mkdir(parents=True, exist_ok=True)
        kept = folder / f"dry-needling-{time.strftime('%Y%m%d-%H%M%S')}.tar.gz"
        shutil.copy2(target, kept)
        for old in sorted(folder.glob("*.tar.gz"))[:-KEEP_PREVIOUS]:
            old.unlink()
    staging = target.parent / f".{target.name}.incoming"
    shutil.copyfile(candidate, staging)
    os.replace(staging, target)  # atomic: `rasa run` never sees half a file
    return kept


def reload_running_server(project: Project, say: Say) -> bool:
    """Load the promoted model into a running server, or into each server of `make cluster`
    in turn. False if one runs but did not."""
    instances = cluster_urls()
    if instances:
        return reload_cluster(instances, project, say)
    url = server_url()
    if not is_running(url):
        say(f"The assistant is not running at {url}: it will use the new model when started (`make run`).")
        return True
    try:
        reload_model(url, settings().rasa_api_token, project.model)
    except ReloadError as error:
        say(f"WARNING: the running assistant still uses the old model: {error}")
        return False
    say(f"The running assistant at {url} now uses the new model (no restart; conversations kept).")
    return True


def reload_cluster(urls: List[str], project: Project, say: Say) -> bool:
    """Load the promoted model into each Rasa server of `make cluster`, one after the other,
    so that the others answer (nginx) while one loads it; the next one only once this one
    says it is ready again."""
    for done, url in enumerate(urls):
        try:
            reload_model(url, settings().rasa_api_token, project.model, workers=1)
            if not is_ready(url, timeout=10):
                raise ReloadError("it took the model but does not say it is ready (GET /webhooks/rest/ready)")
        except ReloadError as error:
            say(f"WARNING: the Rasa server at {url} still uses the old model: {error}")
            if done:
                say(f"  ({done} of {len(urls)} servers use the new model: run `make retrain` again.)")
            return False
    say(f"The {len(urls)} Rasa servers of the cluster now use the new model, one after the other "
        "(no restart; conversations kept).")
    return True


# ----- the whole run


@contextlib.contextmanager
def step(say: Say, title: str) -> Iterator[None]:
    """Announce a step and how long it took."""
    say(title)
    started = time.monotonic()
    yield
    say(f"  done in {time.monotonic() - started:.0f} s")


def run(project: Project, rules: Rules, say: Say = print, reload: bool = True) -> Outcome:
    """Check, train, compare, then promote or refuse. See the module docstring."""
    started = time.monotonic()
    with exclusive(project):
        with step(say, "Step 1/4  Checking the training data ..."):
            for warning in check_data(project):
                say(f"  note: {warning}")
            rasa_validate(project)
        quiet_rasa()
        with step(say, "Step 2/4  Training a new model (a minute or two) ..."):
            candidate = train_candidate(project)
        with step(say, "Step 3/4  Comparing it with the current model on the held-out test questions ..."):
            new_report, new_keys = score(project, candidate, say)
            if project.model.exists():
                old_report, old_keys = score(project, project.model, say)
                comparison = Comparison(new_report, new_keys, old_report, old_keys, rules)
            else:
                comparison = Comparison(new_report, new_keys, rules=rules)
        say("Step 4/4  Deciding ...")
        report_path, text = write_report(project, comparison, candidate)
        say("")
        say(text)
        if not comparison.accepted:
            return Outcome(REFUSED, report_path, time.monotonic() - started, comparison)
        kept = promote(project, candidate)
        say("")
        say(f"PROMOTED: {project.relative(project.model)} is now the new model.")
        if kept:
            say(f"(The previous model is kept at {project.relative(kept)}.)")
        ok = reload_running_server(project, say) if reload else True
        return Outcome(PROMOTED if ok else NOT_RELOADED, report_path, time.monotonic() - started, comparison)


def result_data(outcome: Outcome) -> Dict[str, Any]:
    """What a retrain did, for the console: the outcome and the comparison figure by figure."""
    data: Dict[str, Any] = {"code": outcome.code, "seconds": round(outcome.seconds, 1),
                            "report": str(outcome.report) if outcome.report else None}
    comparison = outcome.comparison
    if comparison is None:
        return data
    compared = comparison.old is not None
    _, broken = comparison.changed_outcomes()
    data.update(
        accepted=comparison.accepted, compared=compared, reasons=comparison.reasons(),
        warnings=comparison.warnings(),
        figures=[{**asdict(f), "lost": f.lost} for f in comparison.metrics()] if compared else [],
        new_faqs={k: list(v) for k, v in comparison.new_key_results().items()} if compared else {},
        broken=[list(row) for row in broken],
    )
    return data


# ----- rollback


def previous_models(project: Project) -> List[Path]:
    """The models that promotions replaced, newest last."""
    return sorted((project.work_dir / "previous").glob("*.tar.gz"))


def rollback(project: Project, say: Say = print, reload: bool = True) -> Outcome:
    """Put back the newest previous model and load it into the running server(s).

    The model put back leaves results/retrain/previous/ (so a second rollback goes one
    further back); the model it replaces is kept as results/retrain/rolled-back.tar.gz.
    """
    started = time.monotonic()
    with exclusive(project):
        kept = previous_models(project)
        if not kept:
            raise UserError("There is no previous model to put back: none was replaced by `make retrain` "
                            "in this folder (or they were removed).")
        chosen = kept[-1]
        say(f"Step 1/2  Putting back {project.relative(chosen)} ...")
        if project.model.exists():
            shutil.copy2(project.model, project.work_dir / "rolled-back.tar.gz")
        staging = project.model.parent / f".{project.model.name}.incoming"
        project.model.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(chosen, staging)
        os.replace(staging, project.model)  # atomic, as in promote
        chosen.unlink()
        say(f"ROLLED BACK: {project.relative(project.model)} is again the model that was in use until "
            f"{replaced_on(chosen)} "
            "(the one it replaced is kept at "
            f"{project.relative(project.work_dir / 'rolled-back.tar.gz')}).")
        ok = True
        if reload:
            say("Step 2/2  Loading it into the running assistant ...")
            ok = reload_running_server(project, say)
        return Outcome(PROMOTED if ok else NOT_RELOADED, None, time.monotonic() - started)


def replaced_on(kept: Path) -> str:
    """When a kept model was replaced, from its name (dry-needling-20261124-062342.tar.gz)."""
    found = re.search(r"(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})", kept.name)
    return "{}-{}-{} {}:{}".format(*found.groups()) if found else kept.name


def write_report(project: Project, comparison: Comparison, candidate: Path) -> Tuple[Path, str]:
    """The report text, also saved under results/retrain/reports/."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    current = project.model
    header = [f"Retraining report, {stamp}"]
    if current.exists():
        trained = time.strftime("%Y-%m-%d %H:%M", time.localtime(current.stat().st_mtime))
        header.append(f"Current model: {project.relative(current)} (from {trained})")
    header += [f"New model:     {project.relative(candidate)}",
               f"Test questions: {project.relative(project.test_file)} ({len(comparison.new.rows)})", ""]
    body = comparison.render()
    reasons = comparison.reasons()
    if reasons:
        verdict = ["", "REFUSED: the new model is worse, so it was NOT installed; the assistant keeps "
                   "the current one.", "Why:"]
        verdict += [f"  - {r}" for r in reasons]
        verdict += ["What to do: look at the questions listed above. Take back the last change with "
                    "`make faq-undo` (repeat it to go further back), or fix the examples, then run "
                    "`make retrain` again."]
    else:
        verdict = ["", "OK: the new model is not worse than the current one (within the tolerances)."]
    warnings = comparison.warnings()
    if warnings:
        verdict += ["WARNING:"] + [f"  - {w}" for w in warnings]
    text = "\n".join(header + [body] + verdict)
    folder = project.work_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"retrain-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    path.write_text(text + "\n", encoding="utf-8")
    return path, text + f"\n(Report saved to {project.relative(path)}.)"
