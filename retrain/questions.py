"""Questions patients really asked: export the unanswered ones, import them once labelled.

Conversations are read through Rasa's tracker store API from the store configured in
endpoints.yml (SQLite here, PostgreSQL or any other store in production: same code).
A question counts as unanswered when it was handed off to the phone line or fell back
(its intent is a hand-off intent, or the hand-off / fallback action followed it), when
it got "did you mean" suggestions, or when the patient rated its answer "didn't help".
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
from retrain.trainingdata import FAQ_PREFIX, RESPONSE_PREFIX, TrainingSet, display

HANDOFF_ACTIONS = {"action_handoff", "action_default_fallback", "action_two_stage_fallback"}
# The reply with "did you mean" buttons (actions/handoff.py), as BotUttered metadata names it.
SUGGEST_RESPONSE = "utter_handoff_suggest"
FAQ_RESPONSE_PREFIX = RESPONSE_PREFIX  # utter_faq/<key>: a page answer
# The rating buttons' intent and entity (domain.yml, actions/rating.py).
RATE_INTENT = "rate_answer"
RATING_ENTITY = "rating"
NOT_HELPFUL = "not_helpful"
# Why a question is unanswered, as staff read it.
HANDED_OFF = "handed off"
DID_YOU_MEAN = "did you mean"
RATED_NOT_HELPFUL = "rated not helpful"
REASONS = (HANDED_OFF, DID_YOU_MEAN, RATED_NOT_HELPFUL)
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
    reason: str = HANDED_OFF


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
    """The user messages of one conversation that were not answered, each with its reason.

    Handed off or fell back; given "did you mean" suggestions; or answered, and then the
    answer rated "didn't help" (the rating is the next message: a button's payload).
    """
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    found: List[Asked] = []
    pending: Optional[_Turn] = None  # the latest typed message and what it got
    last_answered: Any = None  # the latest typed message that got a page answer
    for event in list(events) + [None]:
        if event is None or isinstance(event, UserUttered):
            if pending is not None:
                handed = _intent(pending.message.parse_data)[0] in handoff
                reason = pending.reason or (HANDED_OFF if handed else "")
                if reason:
                    found.append(_asked(pending.message, reason))
                elif pending.answered:
                    last_answered = pending.message
            if event is not None and last_answered is not None and rating(event) == NOT_HELPFUL:
                found.append(_asked(last_answered, RATED_NOT_HELPFUL))
                last_answered = None
            pending = _Turn(event) if event is not None and _is_question(event.text) else None
        elif pending is None:
            continue
        elif isinstance(event, BotUttered):
            response = utter_action(event)
            pending.reason = DID_YOU_MEAN if response == SUGGEST_RESPONSE else pending.reason
            pending.answered = pending.answered or response.startswith(FAQ_RESPONSE_PREFIX)
        elif isinstance(event, ActionExecuted) and event.action_name in HANDOFF_ACTIONS:
            pending.reason = pending.reason or HANDED_OFF
    return found


@dataclass
class _Turn:
    """A typed message, why it is unanswered ("" while answered) and whether it got a page answer."""

    message: Any
    reason: str = ""
    answered: bool = False


def utter_action(event: Any) -> str:
    """The domain response a bot message was made from ("" when not known)."""
    return str((getattr(event, "metadata", None) or {}).get("utter_action") or "")


def rating(event: Any) -> str:
    """The rating a user message carries (the rating buttons' payload), or ""."""
    if _intent(event.parse_data)[0] != RATE_INTENT:
        return ""
    values = [e.get("value") for e in event.entities or [] if e.get("entity") == RATING_ENTITY]
    return str(values[-1]) if values and values[-1] else ""


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


def _asked(message: Any, reason: str) -> Asked:
    intent, confidence = _intent(message.parse_data)
    faq, faq_confidence = _closest_faq(message.parse_data)
    text = " ".join(message.text.split())
    return Asked(text, float(message.timestamp), intent, confidence, faq, faq_confidence, reason)


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


async def _read_all(store: Any) -> Dict[str, List[Any]]:
    conversations: Dict[str, List[Any]] = {}
    for sender in await store.keys():
        tracker = await store.retrieve_full_tracker(sender)
        if tracker is not None:
            conversations[sender] = list(tracker.events)
    return conversations


def read_conversations(project: Project) -> Dict[str, List[Any]]:
    """Every conversation's events in the tracker store, by conversation id."""
    return asyncio.run(_read_all(tracker_store(project)))


def unanswered_in(
    conversations: Dict[str, List[Any]], since: Optional[float] = None, until: Optional[float] = None
) -> List[Asked]:
    """The unanswered questions of these conversations asked from `since` until before `until`."""
    handoff = handoff_intents()
    return [
        a for events in conversations.values() for a in unanswered(events, handoff)
        if (since is None or a.timestamp >= since) and (until is None or a.timestamp < until)
    ]


def read_unanswered(project: Project, since: Optional[float] = None) -> List[Asked]:
    """Every unanswered question in the tracker store (since a time, if given)."""
    return unanswered_in(read_conversations(project), since)


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
