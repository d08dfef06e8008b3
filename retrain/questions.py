"""Questions patients really asked: export the unanswered ones, import them once labelled.

Conversations are read through Rasa's tracker store API from the store configured in
endpoints.yml (SQLite here, PostgreSQL or any other store in production: same code).
A question counts as unanswered when it was handed off to the phone line or fell back:
its intent is a hand-off intent, or the hand-off / fallback action followed it.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

from retrain.errors import UserError
from retrain.project import Project
from retrain.text import normalise
from retrain.trainingdata import FAQ_PREFIX, TrainingSet, display

HANDOFF_ACTIONS = {"action_handoff", "action_default_fallback", "action_two_stage_fallback"}
COLUMNS = [
    "question", "label", "times_asked", "last_asked", "first_asked",
    "predicted_intent", "confidence", "closest_faq", "closest_faq_confidence",
]
SKIP_LABELS = {"", "skip", "-", "?", "no", "none", "ignore", "n/a"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
TIME_FORMAT = "%Y-%m-%d %H:%M"

# Rasa's SQL tracker store, and the project's one that masks identifiers (same tables)
SQL_STORES = {"sql", "stores.masking_tracker_store.maskingsqltrackerstore"}

def handoff_intents() -> Set[str]:
    """The intents that end in the phone hand-off (core.handoff)."""
    from core.handoff import HANDOFF_INTENTS

    return set(HANDOFF_INTENTS)


@dataclass
class Asked:
    """One patient message that was not answered."""

    text: str
    timestamp: float
    intent: str
    confidence: float
    closest_faq: str
    closest_confidence: float


@dataclass
class Group:
    """A question asked one or more times (same words, ignoring case and punctuation)."""

    asked: List[Asked] = field(default_factory=list)

    @property
    def latest(self) -> Asked:
        """The most recent time it was asked."""
        return max(self.asked, key=lambda a: a.timestamp)

    @property
    def wording(self) -> str:
        """The most common wording (the latest among equally common ones)."""
        counts = Counter(a.text for a in self.asked)
        return max(self.asked, key=lambda a: (counts[a.text], a.timestamp)).text

    def row(self) -> Dict[str, str]:
        """The group as a CSV row."""
        latest = self.latest
        return {
            "question": spreadsheet_safe(self.wording),
            "label": "",
            "times_asked": str(len(self.asked)),
            "last_asked": _time(latest.timestamp),
            "first_asked": _time(min(a.timestamp for a in self.asked)),
            "predicted_intent": latest.intent,
            "confidence": f"{latest.confidence:.2f}",
            "closest_faq": latest.closest_faq,
            "closest_faq_confidence": f"{latest.closest_confidence:.2f}" if latest.closest_faq else "",
        }


def _time(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp).strftime(TIME_FORMAT)


def spreadsheet_safe(text: str) -> str:
    """Text a spreadsheet shows as text: a leading =, +, - or @ would start a formula."""
    return f"'{text}" if text.startswith(FORMULA_START) else text


def from_spreadsheet(text: str) -> str:
    """Undo `spreadsheet_safe`."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START):
        return text[1:]
    return text


# ----- export


def unanswered(events: Iterable[Any], handoff: Set[str]) -> List[Asked]:
    """The user messages of one conversation that were handed off or fell back."""
    from rasa.shared.core.events import ActionExecuted, UserUttered

    found: List[Asked] = []
    pending: Optional[Tuple[Any, bool]] = None
    for event in list(events) + [None]:
        if event is None or isinstance(event, UserUttered):
            if pending is not None:
                message, handed_off = pending
                if handed_off or _intent(message.parse_data)[0] in handoff:
                    found.append(_asked(message))
            pending = (event, False) if event is not None and _is_question(event.text) else None
        elif isinstance(event, ActionExecuted) and pending and event.action_name in HANDOFF_ACTIONS:
            pending = (pending[0], True)
    return found


def _is_question(text: Optional[str]) -> bool:
    """Typed text (not a button payload such as /greet)."""
    return bool(text and text.strip() and not text.strip().startswith("/"))


def _intent(parse: Dict[str, Any]) -> Tuple[str, float]:
    intent = (parse or {}).get("intent") or {}
    return str(intent.get("name") or "nlu_fallback"), float(intent.get("confidence") or 0.0)


def _closest_faq(parse: Dict[str, Any]) -> Tuple[str, float]:
    selector = ((parse or {}).get("response_selector") or {}).get("faq") or {}
    ranking = selector.get("ranking") or []
    if ranking:
        best = ranking[0]
    else:
        best = selector.get("response") or {}
    key = str(best.get("intent_response_key") or "")
    return display(key) if key.startswith(FAQ_PREFIX) else key, float(best.get("confidence") or 0.0)


def _asked(message: Any) -> Asked:
    intent, confidence = _intent(message.parse_data)
    faq, faq_confidence = _closest_faq(message.parse_data)
    text = " ".join(message.text.split())
    return Asked(text, float(message.timestamp), intent, confidence, faq, faq_confidence)


def tracker_store(project: Project) -> Any:
    """The tracker store of endpoints.yml, through Rasa's API."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import read_endpoint_config

    if not project.endpoints.exists():
        raise UserError(f"{project.relative(project.endpoints)} is missing.")
    try:
        endpoint = read_endpoint_config(str(project.endpoints), "tracker_store")
    except Exception as error:  # e.g. an unset ${VARIABLE}
        raise UserError(f"Could not read the tracker store settings in endpoints.yml: {error}") from error
    if endpoint is None:
        raise UserError(
            "endpoints.yml has no tracker_store, so conversations are not kept: nothing to export."
        )
    dialect = str(endpoint.kwargs.get("dialect", "")).lower()
    db = endpoint.kwargs.get("db")
    sql = str(endpoint.type).lower() in SQL_STORES
    if sql and dialect.startswith("sqlite") and db:
        if not Path(db).exists():
            raise UserError(
                f"No conversations yet: the conversation database {db} (TRACKER_DB) does not exist."
            )
    if sql:
        check_reachable(endpoint)
    domain_file = project.root / "domain.yml"
    domain = Domain.load(str(domain_file)) if domain_file.exists() else Domain.empty()
    return TrackerStore.create(endpoint, domain=domain)


def check_reachable(endpoint: Any, timeout: int = 10) -> None:
    """Connect once to an SQL tracker store (Rasa's own store would retry for ever)."""
    import sqlalchemy as sa
    from rasa.core.tracker_store import SQLTrackerStore, validate_port

    kw = endpoint.kwargs
    dialect = str(kw.get("dialect", "sqlite"))
    url = SQLTrackerStore.get_db_url(
        dialect, endpoint.url, validate_port(kw.get("port")), kw.get("db", "rasa.db"),
        kw.get("username"), kw.get("password"), kw.get("login_db"), kw.get("query"),
    )
    connect_args = {} if dialect.startswith("sqlite") else {"connect_timeout": timeout}
    engine = sa.create_engine(url, connect_args=connect_args)
    try:
        with engine.connect():
            pass
    except Exception as error:  # the driver's own error types
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UserError(f"Cannot reach the conversation database {engine.url!r}: {first}") from error
    finally:
        engine.dispose()


async def _read_all(store: Any, since: Optional[float], handoff: Set[str]) -> List[Asked]:
    found: List[Asked] = []
    for sender in await store.keys():
        tracker = await store.retrieve_full_tracker(sender)
        if tracker is None:
            continue
        found += [a for a in unanswered(tracker.events, handoff) if since is None or a.timestamp >= since]
    return found


def read_unanswered(project: Project, since: Optional[float] = None) -> List[Asked]:
    """Every unanswered question in the tracker store (since a time, if given)."""
    return asyncio.run(_read_all(tracker_store(project), since, handoff_intents()))


def group(asked: Iterable[Asked]) -> List[Group]:
    """Group repeated questions; most asked first, then most recent."""
    groups: Dict[str, Group] = {}
    for item in asked:
        groups.setdefault(normalise(item.text), Group()).asked.append(item)
    return sorted(groups.values(), key=lambda g: (-len(g.asked), -g.latest.timestamp))


def write_csv(groups: Iterable[Group], path: Path) -> int:
    """Write the groups for labelling (UTF-8 with BOM so spreadsheets show accents)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [g.row() for g in groups]
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


@dataclass
class Export:
    """What an export found and wrote."""

    path: Path
    rows: int
    messages: int
    already_known: int


def export(project: Project, out: Path, since: Optional[float] = None) -> Export:
    """Write the unanswered questions, grouped, leaving out those already in the data."""
    asked = read_unanswered(project, since)
    known = TrainingSet.load(project).index()
    groups = group(asked)
    fresh = [g for g in groups if normalise(g.wording) not in known]
    rows = write_csv(fresh, out)
    return Export(out, rows, len(asked), len(groups) - len(fresh))


# ----- import


@dataclass
class Labelled:
    """A row of the labelled CSV."""

    line: int
    question: str
    label: str


def _decode(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def read_labelled(path: Path) -> List[Labelled]:
    """The rows of a labelled CSV (comma, semicolon or tab separated, as spreadsheets save)."""
    if not path.exists():
        raise UserError(f"There is no file {path}.")
    text = _decode(path)
    header = text.splitlines()[0] if text.strip() else ""
    delimiter = max([",", ";", "\t"], key=header.count)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    fields = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    missing = [c for c in ("question", "label") if c not in fields]
    if missing:
        raise UserError(
            f"{path} has no {' or '.join(repr(m) for m in missing)} column. Keep the header row "
            f"of the exported file (question, label, ...)."
        )
    rows = []
    for row in reader:
        question = from_spreadsheet(" ".join((row.get(fields["question"]) or "").split()))
        rows.append(Labelled(reader.line_num, question, " ".join((row.get(fields["label"]) or "").split())))
    return rows


@dataclass
class Imported:
    """What an import added and skipped."""

    added: Dict[str, List[str]]
    already_there: int
    unlabelled: int
    files: List[Path]


def import_labelled(project: Project, path: Path) -> Imported:
    """Add the labelled rows as training examples; any bad row and nothing changes."""
    training = TrainingSet.load(project)
    rows = read_labelled(path)
    errors: List[str] = []
    wanted: Dict[str, Dict[str, str]] = {}  # label -> normal form -> text
    labels_of: Dict[str, Tuple[str, int]] = {}
    unlabelled = 0
    for row in rows:
        if row.label.lower() in SKIP_LABELS:
            unlabelled += 1
            continue
        try:
            label = training.resolve_label(row.label)
            accepted, _ = training.check_new_examples(label, [row.question], skip_existing=True)
        except UserError as error:
            errors.append(f"Row {row.line}: {error}")
            continue
        norm = normalise(row.question)
        if norm in labels_of and labels_of[norm][0] != label:
            other, line = labels_of[norm]
            errors.append(
                f"Row {row.line}: {row.question!r} is labelled {display(label)}, but row {line} "
                f"labels the same question {display(other)}."
            )
            continue
        labels_of[norm] = (label, row.line)
        wanted.setdefault(label, {}).setdefault(norm, row.question)
    if errors:
        shown = errors[:25] + ([f"... and {len(errors) - 25} more"] if len(errors) > 25 else [])
        raise UserError("Nothing was imported. Fix these rows and import again:\n  " + "\n  ".join(shown))
    added: Dict[str, List[str]] = {}
    skipped = 0
    for label, texts in wanted.items():
        new, existing = training.add_examples(label, list(texts.values()), skip_existing=True)
        skipped += len(existing)
        if new:
            added[label] = new
    files = training.save(f"import {path.name}")
    return Imported(added, skipped, unlabelled, files)
