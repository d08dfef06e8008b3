"""`make bench-nlu`: the assistant's NLU pipeline on HINT3 v1, beside the published rows.

For each HINT3 training set (sofmattress, curekart, powerplay11; full and subset)
this trains the project's own pipeline (config.yml, unchanged) with Rasa's training
API on a temporary Rasa YAML conversion of the CSV, parses every test sentence and
scores it with the paper's protocol (bench.hint3_metrics): in-scope accuracy at
threshold 0.1, OOS recall at 0.5, MCC at 0.1..0.9 and the best MCC. The
FallbackClassifier's `nlu_fallback` is undone, so the confidence studied is the
one the pipeline gives the top real intent (the SimilarityGate's similarity). A
message the pipeline gives one of the assistant's own intents (another language, an
emergency: none is a HINT3 label) is not answered, so it counts as out of scope.

It also scores the assistant's own data: the held-out set (retrain.heldout, with the
trained model), Rasa's 3-fold cross-validation on data/, and the single-threaded
parse time per message.

Outputs (bench/results/): hint3_results.json (everything), hint3_results.csv (the
printed tables), hint3_mcc_curves.csv (metrics at every threshold) and
hint3_<training set>_predictions.csv (sentence, gold, predicted top intent before
any threshold, its confidence), and Rasa's own cross-validation reports
(cv_intent_report.json, cv_response_selection_report.json). A partial run (e.g. `--datasets sofmattress
--variants full --skip-cv`) updates only its own entries; every entry records when
it was run and the hash of the config and components it was run with.

    python -m bench.hint3 [--datasets ...] [--variants ...] [--skip-cv] ...
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gc
import hashlib
import json
import logging
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Sequence

from bench import _env, assistant_eval  # noqa: F401 (_env: environment defaults first)
from bench.hint3_data import (
    DATASETS,
    OOS_LABEL,
    VARIANTS,
    PublishedRow,
    check_labels,
    published_for,
    read_examples,
    read_published,
    resolve_hint3_dir,
    test_path,
    train_path,
    training_set_name,
    write_nlu_yaml,
)
from bench.hint3_metrics import (
    Summary,
    ThresholdMetrics,
    curve,
    summarise,
    top_intent,
)
from core.settings import MODEL_FILE

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RESULTS_DIR = Path("bench/results")
RESULTS_JSON = "hint3_results.json"
RESULTS_CSV = "hint3_results.csv"
CURVES_CSV = "hint3_mcc_curves.csv"
OURS = "ours"
FINGERPRINT_FILES = ("config.yml", "components/*.py")


@dataclass
class TrainingSetResult:
    """Our pipeline on one HINT3 training set."""

    dataset: str
    variant: str
    training_set: str
    train_rows: int
    train_examples: int
    intents: int
    intents_with_one_example: List[str]
    test_rows: int
    test_oos_rows: int
    train_seconds: float
    parse_seconds: float
    summary: Summary
    curve: List[ThresholdMetrics]
    compared_with: str
    run_at: str = ""
    fingerprint: str = ""

    def as_dict(self) -> Dict[str, Any]:
        """JSON-ready dict."""
        return asdict(self)


def log(message: str) -> None:
    """Progress line on stdout (flushed: long runs go to log files)."""
    print(message, flush=True)


def now() -> str:
    """UTC timestamp, seconds precision."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def modified(path: Path) -> str | None:
    """A file's modification time (UTC), None if it does not exist."""
    if not path.exists():
        return None
    stamp = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    return stamp.isoformat(timespec="seconds")


def fingerprint(root: Path = REPO_ROOT) -> str:
    """Short sha256 over config.yml and components/*.py (what the numbers depend on)."""
    digest = hashlib.sha256()
    for pattern in FINGERPRINT_FILES:
        for path in sorted(root.glob(pattern)):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def quiet_rasa_logs() -> None:
    """Keep Rasa's per-message debug events (structlog) out of the output."""
    from rasa.utils.log_utils import configure_structlog

    configure_structlog(logging.WARNING)


def train_model(config: Path, nlu_file: Path, out_dir: Path, name: str) -> Path:
    """Train an NLU-only model with Rasa's API (no domain needed); the archive path."""
    from rasa.model_training import train_nlu

    model = train_nlu(str(config), str(nlu_file), str(out_dir), fixed_model_name=name)
    if not model:
        raise RuntimeError(f"Rasa did not train a model from {nlu_file}")
    return Path(model)


async def _parse_all(agent: Any, texts: Sequence[str]) -> List[Dict[str, Any]]:
    return [await agent.parse_message(text) for text in texts]


def parse_texts(model: Path, texts: Sequence[str]) -> List[Dict[str, Any]]:
    """Load a model and parse every text with `agent.parse_message`."""
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    try:
        return asyncio.run(_parse_all(agent, texts))
    finally:
        del agent
        gc.collect()


def write_predictions(
    path: Path,
    sentences: Sequence[str],
    golds: Sequence[str],
    intents: Sequence[str],
    confidences: Sequence[float],
) -> None:
    """sentence, gold, predicted (top intent, before thresholds), confidence."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence", "gold", "predicted", "confidence"])
        for row in zip(sentences, golds, intents, confidences, strict=True):
            writer.writerow([row[0], row[1], row[2], f"{row[3]:.6f}"])


def run_training_set(
    hint3_dir: Path,
    dataset: str,
    variant: str,
    config: Path,
    workdir: Path,
    results_dir: Path,
    published: Sequence[PublishedRow],
) -> TrainingSetResult:
    """Convert, train, parse and score one training set; write its predictions."""
    name = training_set_name(dataset, variant)
    prefix = f"[{name}]"
    train = read_examples(train_path(hint3_dir, dataset, variant))
    test = read_examples(test_path(hint3_dir, dataset))
    few = check_labels(train, test)
    data = write_nlu_yaml(train, workdir / name / "nlu.yml")
    if few:
        log(f"{prefix} note: {len(few)} intents have a single training example: {', '.join(few)}")
    log(
        f"{prefix} training on {len(data.intent_examples)} examples "
        f"({len(train)} rows), {len(data.intents)} intents..."
    )
    pipeline = fingerprint()
    start = time.perf_counter()
    model = train_model(config, workdir / name / "nlu.yml", workdir / name, name)
    train_seconds = time.perf_counter() - start
    log(f"{prefix} trained in {train_seconds:.1f} s")
    if fingerprint() != pipeline:
        log(f"{prefix} WARNING: config.yml or components/ changed while training")
        pipeline += "+changed-during-training"
    sentences = [example.sentence for example in test]
    golds = [example.label for example in test]
    log(f"{prefix} parsing {len(sentences)} sentences...")
    start = time.perf_counter()
    parses = parse_texts(model, sentences)
    parse_seconds = time.perf_counter() - start
    log(f"{prefix} parsed in {parse_seconds:.1f} s")
    # The assistant's own hand-off intents (another language, an emergency) are no
    # intent of the HINT3 bot: the message is not answered, so it is out of scope.
    known = set(data.intents)
    intents, confidences = zip(
        *((i, c) if i in known else (OOS_LABEL, 0.0) for i, c in map(top_intent, parses)),
        strict=True,
    )
    write_predictions(
        results_dir / f"hint3_{name}_predictions.csv", sentences, golds, intents, confidences
    )
    points = curve(golds, intents, confidences)
    _, compared_with = published_for(published, dataset, variant)
    return TrainingSetResult(
        dataset=dataset,
        variant=variant,
        training_set=name,
        train_rows=len(train),
        train_examples=len(data.intent_examples),
        intents=len(data.intents),
        intents_with_one_example=few,
        test_rows=len(test),
        test_oos_rows=sum(g == OOS_LABEL for g in golds),
        train_seconds=train_seconds,
        parse_seconds=parse_seconds,
        summary=summarise(points),
        curve=points,
        compared_with=compared_with,
        run_at=now(),
        fingerprint=pipeline,
    )


# ---------------------------------------------------------------- tables and files


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for the tables ('-' when missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def table_rows(
    entry: Dict[str, Any], published: Sequence[PublishedRow]
) -> List[Dict[str, Any]]:
    """Our row and the published rows for one training set (as CSV-ready dicts)."""
    rows, compared = published_for(published, entry["dataset"], entry["variant"])
    best_published = max(rows, key=lambda r: r.best_mcc) if rows else None
    summary = entry["summary"]
    ours = {
        "dataset": entry["dataset"],
        "training_set": entry["training_set"],
        "system": OURS,
        "published_set": compared,
        "inscope_acc_at_0.1": summary["inscope_acc_at_01"],
        "oos_recall_at_0.5": summary["oos_recall_at_05"],
        "mcc_at_0.5": summary["mcc_at_05"],
        "best_mcc": summary["best_mcc"],
        "best_mcc_threshold": summary["best_mcc_threshold"],
        "beats_best_published_best_mcc": (
            summary["best_mcc"] > best_published.best_mcc if best_published else None
        ),
        "best_published_best_mcc": best_published.best_mcc if best_published else None,
        "best_published_platform": best_published.platform if best_published else None,
    }
    result = [ours]
    for row in rows:
        result.append(
            {
                "dataset": entry["dataset"],
                "training_set": entry["training_set"],
                "system": f"published:{row.platform}",
                "published_set": row.dataset,
                "inscope_acc_at_0.1": row.inscope_acc_at_01,
                "oos_recall_at_0.5": row.oos_recall_at_05,
                "mcc_at_0.5": row.mcc_at_05,
                "best_mcc": row.best_mcc,
                "best_mcc_threshold": row.best_mcc_threshold,
                "beats_best_published_best_mcc": None,
                "best_published_best_mcc": None,
                "best_published_platform": None,
            }
        )
    return result


def format_table(
    dataset: str, entries: Sequence[Dict[str, Any]], published: Sequence[PublishedRow]
) -> str:
    """One printed table per dataset: full and subset, ours and published."""
    header = (
        f"{'training set':20s} {'system':12s} {'inscope@0.1':>11s} {'OOSrec@0.5':>10s} "
        f"{'MCC@0.5':>8s} {'best MCC':>8s} {'@t':>4s}"
    )
    lines = [f"HINT3 v1 — {dataset}", header, "-" * len(header)]
    for entry in entries:
        rows = table_rows(entry, published)
        for row in rows:
            system = row["system"].replace("published:", "")
            lines.append(
                f"{row['training_set']:20s} {system:12s} {fmt(row['inscope_acc_at_0.1']):>11s} "
                f"{fmt(row['oos_recall_at_0.5']):>10s} {fmt(row['mcc_at_0.5']):>8s} "
                f"{fmt(row['best_mcc']):>8s} {fmt(row['best_mcc_threshold'], 1):>4s}"
            )
        ours = rows[0]
        if ours["best_published_best_mcc"] is not None:
            verdict = "BEATS" if ours["beats_best_published_best_mcc"] else "does not beat"
            margin = ours["best_mcc"] - ours["best_published_best_mcc"]
            lines.append(
                f"  -> ours ({ours['best_mcc']:.4f}) {verdict} the best published best MCC "
                f"({ours['best_published_best_mcc']:.4f}, {ours['best_published_platform']}; "
                f"difference {margin:+.4f}); published rows are for the "
                f"'{ours['published_set']}' training set"
            )
        mccs = " ".join(f"{p['threshold']:.1f}:{p['mcc']:.3f}" for p in entry["curve"])
        lines.append(f"  ours, MCC by threshold: {mccs}")
        lines.append(
            f"  ours: {entry['train_examples']} training examples, {entry['intents']} intents, "
            f"{entry['test_rows']} test rows ({entry['test_oos_rows']} out of scope); "
            f"trained in {entry['train_seconds']:.0f} s, parsed in {entry['parse_seconds']:.0f} s"
        )
    return "\n".join(lines)


def write_csv(path: Path, rows: Sequence[Dict[str, Any]]) -> None:
    """Write dict rows (same keys) as CSV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def curve_rows(entries: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Our metrics at every threshold, for every training set."""
    return [
        {"dataset": e["dataset"], "training_set": e["training_set"], **point}
        for e in entries
        for point in e["curve"]
    ]


def ordered_entries(record: Dict[str, Any]) -> List[Dict[str, Any]]:
    """HINT3 entries of the record in dataset, then variant order."""
    hint3 = record.get("hint3", {})
    return [
        hint3[training_set_name(d, v)]
        for d in DATASETS
        for v in VARIANTS
        if training_set_name(d, v) in hint3
    ]


def load_record(path: Path) -> Dict[str, Any]:
    """The previous results JSON (so a partial run keeps the other entries)."""
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    return {}


def save_record(
    results_dir: Path, record: Dict[str, Any], published: Sequence[PublishedRow]
) -> None:
    """Write the JSON record and the two CSVs derived from it."""
    results_dir.mkdir(parents=True, exist_ok=True)
    record["updated_at"] = now()
    (results_dir / RESULTS_JSON).write_text(
        json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8"
    )
    entries = ordered_entries(record)
    write_csv(
        results_dir / RESULTS_CSV,
        [row for entry in entries for row in table_rows(entry, published)],
    )
    write_csv(results_dir / CURVES_CSV, curve_rows(entries))


# ---------------------------------------------------------------- assistant's own data


def print_assistant(part: Dict[str, Any]) -> None:
    """Print the held-out, cross-validation and parse-time results of this run."""
    held = part.get("heldout")
    if held:
        log(
            f"Held-out ({held['test_file']}): FAQ accuracy {held['faq_accuracy']:.1%} "
            f"({held['faq_examples']} examples), out-of-scope hand-off "
            f"{held['oos_handoff']:.1%} ({held['oos_examples']} examples)"
        )
    cv = part.get("cross_validation")
    if cv:
        intent = cv["intent"]
        log(
            f"Cross-validation ({cv['folds']} folds, {cv['seconds']:.0f} s), intents: "
            f"macro F1 {fmt(intent.get('macro_f1'))}, weighted F1 "
            f"{fmt(intent.get('weighted_f1'))}, accuracy {fmt(intent.get('accuracy'))}"
        )
        selection = cv.get("response_selection")
        if selection:
            log(
                f"  FAQ answers (response selection): macro F1 "
                f"{fmt(selection.get('macro_f1'))}, weighted F1 "
                f"{fmt(selection.get('weighted_f1'))}, accuracy {fmt(selection.get('accuracy'))}"
            )
    timing = part.get("parse_time")
    if timing:
        log(
            f"Parse time (single-threaded, intra/inter-op threads "
            f"{timing['intra_op_threads']}/{timing['inter_op_threads']}, "
            f"{timing['messages']} messages after {timing['warmup_messages']} warm-up): "
            f"mean {timing['mean_ms']:.1f} ms, median {timing['median_ms']:.1f} ms, "
            f"p95 {timing['p95_ms']:.1f} ms"
        )


def timed_step(label: str, step: Callable[[], Any]) -> Any | None:
    """Run one optional benchmark step with progress lines; failures are reported."""
    log(f"{label}...")
    start = time.perf_counter()
    try:
        result = step()
    except Exception as error:  # one failing part should not lose the others
        log(f"{label} FAILED after {time.perf_counter() - start:.0f} s: {error}")
        return None
    log(f"{label} done in {time.perf_counter() - start:.0f} s")
    return result


def run_assistant(args: argparse.Namespace, hint3_dir: Path, workdir: Path) -> Dict[str, Any]:
    """Held-out scores, cross-validation and parse time (each unless skipped)."""
    part: Dict[str, Any] = {}
    stamp = {"run_at": now(), "fingerprint": fingerprint()}
    if not args.skip_heldout or not args.skip_timing:
        if not args.model.exists():
            log(f"{args.model} not found (run `make train`): skipping held-out and timing")
            args.skip_heldout = args.skip_timing = True
    model_stamp = {**stamp, "model_modified": modified(args.model)}
    if not args.skip_heldout:
        result = timed_step(
            f"held-out evaluation of {args.model}",
            lambda: assistant_eval.heldout_scores(args.model, args.heldout_file),
        )
        if result:
            scores, summary = result
            log(summary)
            part["heldout"] = {**scores, **model_stamp}
    if not args.skip_timing:
        sentences = test_path(hint3_dir, args.timing_dataset)
        timing = timed_step(
            f"parse time of {args.model} on {sentences.name}",
            lambda: assistant_eval.parse_time(args.model, sentences, args.warmup),
        )
        if timing:
            part["parse_time"] = {**timing, **model_stamp}
    if not args.skip_cv:
        cv = timed_step(
            f"rasa test nlu --cross-validation --folds {args.folds} on {args.nlu_data}",
            lambda: assistant_eval.cross_validate(
                args.config, args.nlu_data, args.folds, workdir, args.results_dir
            ),
        )
        if cv:
            part["cross_validation"] = {**cv, **stamp}
    return part


# ---------------------------------------------------------------- CLI


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options (every part can be selected or skipped)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.hint3", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--hint3-dir", help="HINT3 root (default: $HINT3_DIR or the shared copy)")
    parser.add_argument("--datasets", nargs="+", choices=DATASETS, default=list(DATASETS))
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--config", type=Path, default=Path("config.yml"))
    parser.add_argument("--results-dir", type=Path, default=DEFAULT_RESULTS_DIR)
    parser.add_argument("--model", type=Path, default=MODEL_FILE)
    parser.add_argument("--heldout-file", type=Path, default=Path("tests/nlu_heldout.yml"))
    parser.add_argument("--nlu-data", type=Path, default=Path("data"))
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--timing-dataset", choices=DATASETS, default=DATASETS[0])
    parser.add_argument("--warmup", type=int, default=10, help="untimed parses first")
    parser.add_argument("--skip-hint3", action="store_true")
    parser.add_argument("--skip-heldout", action="store_true")
    parser.add_argument("--skip-cv", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    parser.add_argument("--work-dir", type=Path, help="keep converted data and models here")
    parser.add_argument(
        "--report-only",
        action="store_true",
        help="only print the tables and results recorded in --results-dir",
    )
    return parser.parse_args(argv)


def absolute(path: Path) -> Path:
    """A path given relative to the caller's directory, made absolute."""
    return path if path.is_absolute() else (Path.cwd() / path).resolve()


def run(args: argparse.Namespace, workdir: Path) -> Dict[str, Any]:
    """All selected parts; returns the updated record."""
    hint3_dir = resolve_hint3_dir(args.hint3_dir)
    published = read_published(hint3_dir)
    results_dir = args.results_dir
    record = load_record(results_dir / RESULTS_JSON)
    record["hint3_dir"] = str(hint3_dir)
    if not args.skip_hint3:
        hint3 = record.setdefault("hint3", {})
        done: List[Dict[str, Any]] = []
        for dataset in args.datasets:
            for variant in args.variants:
                result = run_training_set(
                    hint3_dir, dataset, variant, args.config, workdir, results_dir, published
                )
                hint3[result.training_set] = result.as_dict()
                done.append(result.as_dict())
                save_record(results_dir, record, published)
        log("")
        for dataset in args.datasets:
            entries = [e for e in done if e["dataset"] == dataset]
            log(format_table(dataset, entries, published) + "\n")
    fresh = run_assistant(args, hint3_dir, workdir)
    record.setdefault("assistant", {}).update(fresh)
    save_record(results_dir, record, published)
    print_assistant(fresh)
    return record


def print_record(results_dir: Path, hint3_dir: Path) -> None:
    """Print the tables and assistant results recorded by earlier runs."""
    record = load_record(results_dir / RESULTS_JSON)
    published = read_published(hint3_dir)
    entries = ordered_entries(record)
    for dataset in DATASETS:
        mine = [e for e in entries if e["dataset"] == dataset]
        if mine:
            log(format_table(dataset, mine, published) + "\n")
    print_assistant(record.get("assistant", {}))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run from the repository root so config paths resolve."""
    args = parse_args(argv)
    args.hint3_dir = str(absolute(Path(args.hint3_dir))) if args.hint3_dir else None
    for name in ("config", "results_dir", "model", "heldout_file", "nlu_data", "work_dir"):
        value = getattr(args, name)
        if value is not None:
            setattr(args, name, absolute(value))
    os.chdir(REPO_ROOT)
    if args.report_only:
        print_record(args.results_dir, resolve_hint3_dir(args.hint3_dir))
        return 0
    quiet_rasa_logs()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-hint3-") as tmp:
        workdir = args.work_dir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        # Keep the HINT3 models out of the project's training cache.
        os.environ.setdefault("RASA_CACHE_DIRECTORY", str(Path(tmp) / "rasa-cache"))
        run(args, workdir)
    log(f"bench-nlu finished in {time.perf_counter() - started:.0f} s; results in {args.results_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
