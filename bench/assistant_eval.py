"""Benchmarks on the assistant's own data and model.

- held-out set: FAQ accuracy and out-of-scope hand-off of the trained model
  (models/dry-needling.tar.gz) on tests/nlu_heldout.yml, via retrain.heldout;
- cross-validation: `rasa test nlu --cross-validation` on the project's NLU files,
  read back from the intent (and response selection) reports Rasa writes;
- parse time: single-threaded mean ms per message, in a fresh process
  (bench.parse_time), over the HINT3 test sentences of one dataset.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from bench.parse_time import SINGLE_THREAD_ENV

REPORT_AVERAGES = ("macro avg", "weighted avg", "micro avg")


def heldout_scores(model: Path, test_file: Path) -> Tuple[Dict[str, Any], str]:
    """FAQ accuracy / hand-off rate of a trained model on the held-out file.

    Returns the scores and retrain.heldout's human-readable summary.
    """
    from rasa.core.agent import Agent

    from retrain.heldout import evaluate

    report = evaluate(Agent.load(str(model)), test_file)
    faq_rows = [r for r in report.rows if r[1].startswith("faq/")]
    oos_rows = [r for r in report.rows if r[1].startswith("out_of_scope")]
    scores = {
        "model": str(model),
        "test_file": str(test_file),
        "examples": len(report.rows),
        "faq_examples": len(faq_rows),
        "faq_accuracy": report.faq_accuracy,
        "oos_examples": len(oos_rows),
        "oos_handoff": report.oos_handoff,
        "errors": len(report.errors()),
        "faq_accuracy_per_key": report.per_key(),
    }
    return scores, report.summary()


def report_scores(report: Mapping[str, Any]) -> Dict[str, float]:
    """Accuracy and macro/weighted F1 (and P/R) from a Rasa classification report."""
    scores: Dict[str, float] = {}
    if "accuracy" in report:
        scores["accuracy"] = float(report["accuracy"])
    for average in REPORT_AVERAGES:
        entry = report.get(average)
        if isinstance(entry, Mapping):
            key = average.split()[0]
            scores[f"{key}_f1"] = float(entry["f1-score"])
            scores[f"{key}_precision"] = float(entry["precision"])
            scores[f"{key}_recall"] = float(entry["recall"])
            scores["support"] = float(entry.get("support", 0))
    return scores


def read_report(path: Path) -> Dict[str, float] | None:
    """Scores from one of Rasa's *_report.json files, None if it was not written."""
    if not path.exists():
        return None
    return report_scores(json.loads(path.read_text(encoding="utf-8")))


def subprocess_env(extra: Mapping[str, str] | None = None) -> Dict[str, str]:
    """This process's environment plus `extra` (offline model hub, no telemetry)."""
    env = dict(os.environ)
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.update(extra or {})
    return env


def cross_validation_command(config: Path, nlu: Path, folds: int, out: Path) -> List[str]:
    """The `rasa test nlu --cross-validation` command line."""
    return [
        sys.executable, "-m", "rasa", "test", "nlu",
        "--cross-validation", "--folds", str(folds),
        "--config", str(config), "--nlu", str(nlu), "--out", str(out),
    ]


CV_REPORTS = ("intent_report.json", "response_selection_report.json")


def cross_validate(
    config: Path, nlu: Path, folds: int, workdir: Path, keep_dir: Path | None = None
) -> Dict[str, Any]:
    """Run Rasa's cross-validation as a subprocess and read its reports.

    `nlu` may be a directory with several NLU files (Rasa collects them). The
    subprocess output goes to a log file next to the reports (in `workdir`); the
    per-label reports are copied to `keep_dir` as cv_<report>.json if given.
    """
    out = workdir / "cv-results"
    log = workdir / "cv.log"
    command = cross_validation_command(config, nlu, folds, out)
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as handle:
        process = subprocess.run(
            command, stdout=handle, stderr=subprocess.STDOUT, env=subprocess_env()
        )
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").splitlines()[-20:]
        raise RuntimeError(
            f"rasa test nlu exited with {process.returncode}:\n" + "\n".join(tail)
        )
    intents = read_report(out / "intent_report.json")
    if intents is None:
        raise RuntimeError(f"rasa test nlu wrote no intent report in {out}")
    if keep_dir is not None:
        keep_dir.mkdir(parents=True, exist_ok=True)
        for name in CV_REPORTS:
            if (out / name).exists():
                shutil.copyfile(out / name, keep_dir / f"cv_{name}")
    return {
        "command": " ".join(command[1:]),
        "folds": folds,
        "seconds": seconds,
        "intent": intents,
        "response_selection": read_report(out / "response_selection_report.json"),
    }


def parse_time(model: Path, sentences: Path, warmup: int) -> Dict[str, Any]:
    """Single-threaded parse latency, measured in a fresh process (bench.parse_time)."""
    command = [
        sys.executable, "-m", "bench.parse_time", str(model), str(sentences),
        "--warmup", str(warmup),
    ]
    process = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=subprocess_env(SINGLE_THREAD_ENV),
    )
    lines = [line for line in process.stdout.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        tail = "\n".join(process.stderr.splitlines()[-20:])
        raise RuntimeError(f"bench.parse_time exited with {process.returncode}:\n{tail}")
    return json.loads(lines[-1])
