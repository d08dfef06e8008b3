"""The console's Insights: what patients asked and what they got, over a period of days.

Read from the tracker store of endpoints.yml through Rasa's tracker store API, as the
inbox reads it (retrain/questions.py: SQLite here, PostgreSQL in production, same code).
Each patient message is one turn; its kind comes from the replies' domain responses and
actions in the events (the `utter_action` of each bot message):

- emergency: `utter_emergency` or `utter_self_harm` (911, the 9-8-8 helpline);
- did you mean: `utter_handoff_suggest` (actions/handoff.py), suggestions and the phone;
- answered: a page answer, `utter_faq/<key>` (alone or with the phone for the rest);
- handed off: the hand-off action or Rasa's fallback, with no page answer;
- other: greetings, thanks, goodbyes, "anything else?" answered yes or no.

The chat's own opening message and the rating taps are not counted as messages; a rating
counts for the page answers of the last answered message before it. Days are local days.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from retrain.questions import (
    FAQ_RESPONSE_PREFIX,
    HANDOFF_ACTIONS,
    NOT_HELPFUL,
    RATE_INTENT,
    Asked,
    rating,
    spreadsheet_safe,
    unanswered_in,
    utter_action,
)

ANSWERED = "answered"
HANDED_OFF = "handed off"
DID_YOU_MEAN = "did you mean"
EMERGENCY = "emergency"
OTHER = "other"
KINDS = (ANSWERED, HANDED_OFF, DID_YOU_MEAN, EMERGENCY, OTHER)
EMERGENCY_RESPONSES = {"utter_emergency", "utter_self_harm"}
SUGGEST_RESPONSE = "utter_handoff_suggest"
# Messages that are not the patient's own words: the widget opening, a rating tap.
NOT_MESSAGES = {"start_chat", RATE_INTENT}
DEFAULT_DAYS = 30
MAX_DAYS = 366
TOP = 10


@dataclass(frozen=True)
class Period:
    """From the first to the last day, both included (local days)."""

    first: date
    last: date

    @classmethod
    def default(cls, today: Optional[date] = None) -> "Period":
        """The last 30 days, today included."""
        today = today or date.today()
        return cls(today - timedelta(days=DEFAULT_DAYS - 1), today)

    @property
    def since(self) -> float:
        """The first moment of the period (a timestamp)."""
        return datetime.combine(self.first, time.min).timestamp()

    @property
    def until(self) -> float:
        """The first moment after the period (a timestamp)."""
        return datetime.combine(self.last + timedelta(days=1), time.min).timestamp()

    def days(self) -> List[date]:
        """Every day of the period, in order."""
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def holds(self, timestamp: float) -> bool:
        """Whether a moment is in the period."""
        return self.since <= timestamp < self.until


def parse_period(first: str, last: str, today: Optional[date] = None) -> Tuple[Period, str]:
    """The period staff chose (YYYY-MM-DD dates); the default one and why, when it cannot be used."""
    fallback = Period.default(today)
    if not first and not last:
        return fallback, ""
    try:
        period = Period(date.fromisoformat(first or last), date.fromisoformat(last or first))
    except ValueError:
        return fallback, "Those dates could not be read (use YYYY-MM-DD): showing the last 30 days."
    if period.last < period.first:
        return fallback, "The first day is after the last day: showing the last 30 days."
    if len(period.days()) > MAX_DAYS:
        return fallback, f"Choose at most {MAX_DAYS} days: showing the last 30 days."
    return period, ""


@dataclass
class Day:
    """One day's conversations (chats with a patient message that day) and patient messages."""

    day: date
    conversations: int = 0
    messages: int = 0


@dataclass
class Rating:
    """How patients rated one FAQ's answer."""

    faq: str
    helpful: int = 0
    not_helpful: int = 0


@dataclass
class Figures:
    """The period's figures, as the page and the CSV show them."""

    period: Period
    days: List[Day]
    kinds: Dict[str, int]
    faqs: List[Tuple[str, int]]  # most answered first
    ratings: List[Rating]  # most rated first
    asked: List[Asked] = field(default_factory=list)  # the unanswered questions, for the inbox's grouping

    @property
    def messages(self) -> int:
        """Patient messages in the period."""
        return sum(d.messages for d in self.days)

    @property
    def conversations(self) -> int:
        """Conversations with a patient message in the period (one a day at most per chat)."""
        return sum(d.conversations for d in self.days)


@dataclass
class _Turn:
    """A patient message and the names of the replies it got."""

    timestamp: float
    responses: Set[str] = field(default_factory=set)
    actions: Set[str] = field(default_factory=set)

    @property
    def faqs(self) -> List[str]:
        """The FAQ keys of its page answers."""
        prefix = FAQ_RESPONSE_PREFIX
        return sorted(r[len(prefix):] for r in self.responses if r.startswith(prefix))

    @property
    def kind(self) -> str:
        """Its kind of reply (the module's docstring)."""
        if self.responses & EMERGENCY_RESPONSES or self.actions & EMERGENCY_RESPONSES:
            return EMERGENCY
        if SUGGEST_RESPONSE in self.responses:
            return DID_YOU_MEAN
        if self.faqs:
            return ANSWERED
        if self.actions & HANDOFF_ACTIONS or any(r.startswith("utter_handoff") for r in self.responses):
            return HANDED_OFF
        return OTHER


def _turns(events: Iterable[Any]) -> Tuple[List[_Turn], List[Tuple[float, str, List[str]]]]:
    """A conversation's patient messages, and its ratings (when, which, of which FAQs)."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

    turns: List[_Turn] = []
    ratings: List[Tuple[float, str, List[str]]] = []
    current: Optional[_Turn] = None
    last_faqs: List[str] = []
    for event in events:
        if isinstance(event, UserUttered):
            if current is not None and current.faqs:
                last_faqs = current.faqs
            intent = ((event.parse_data or {}).get("intent") or {}).get("name") or ""
            given = rating(event)
            if given:
                ratings.append((float(event.timestamp), given, last_faqs))
            current = None if intent in NOT_MESSAGES else _Turn(float(event.timestamp))
            if current is not None:
                turns.append(current)
        elif current is None:
            continue
        elif isinstance(event, BotUttered):
            current.responses.add(utter_action(event))
        elif isinstance(event, ActionExecuted) and event.action_name:
            current.actions.add(event.action_name)
    return turns, ratings


def figures(conversations: Mapping[str, Sequence[Any]], period: Period) -> Figures:
    """The period's figures from every conversation's events."""
    days = {d: Day(d) for d in period.days()}
    chats: Dict[date, Set[str]] = {d: set() for d in days}
    kinds: Counter[str] = Counter({kind: 0 for kind in KINDS})
    answered: Counter[str] = Counter()
    rated: Dict[str, Rating] = {}
    for sender, events in conversations.items():
        turns, ratings = _turns(events)
        for turn in (t for t in turns if period.holds(t.timestamp)):
            day = datetime.fromtimestamp(turn.timestamp).date()
            days[day].messages += 1
            chats[day].add(sender)
            kinds[turn.kind] += 1
            answered.update(turn.faqs)
        for when, given, faqs in ratings:
            if not period.holds(when):
                continue
            for faq in faqs or ["(no page answer)"]:
                entry = rated.setdefault(faq, Rating(faq))
                if given == NOT_HELPFUL:
                    entry.not_helpful += 1
                else:
                    entry.helpful += 1
    for day, senders in chats.items():
        days[day].conversations = len(senders)
    return Figures(
        period,
        list(days.values()),
        dict(kinds),
        answered.most_common(TOP),
        sorted(rated.values(), key=lambda r: (-(r.helpful + r.not_helpful), r.faq)),
        unanswered_in(dict(conversations), period.since, period.until),
    )


def csv_text(found: Figures, groups: Sequence[Tuple[str, int, int]]) -> str:
    """The page's tables as one CSV: a title row, a header row and rows for each, a blank line between.

    `groups` are the largest groups of unanswered questions: (shown wording, times, wordings).
    Every cell is spreadsheet-safe: a patient's text never becomes a formula.
    """
    sections: List[Tuple[str, List[str], List[List[Any]]]] = [
        ("Period", ["First day", "Last day"], [[found.period.first, found.period.last]]),
        ("Per day", ["Day", "Conversations", "Patient messages"],
         [[d.day, d.conversations, d.messages] for d in found.days]),
        ("Replies by kind", ["Kind", "Messages"], [[k, found.kinds.get(k, 0)] for k in KINDS]),
        ("FAQs asked most", ["FAQ", "Times answered"], [[faq, n] for faq, n in found.faqs]),
        ("Patient ratings", ["FAQ", "Helpful", "Not helpful"],
         [[r.faq, r.helpful, r.not_helpful] for r in found.ratings]),
        ("Largest groups of unanswered questions", ["Question", "Times asked", "Wordings"],
         [list(g) for g in groups]),
    ]
    out = io.StringIO()
    writer = csv.writer(out)
    for number, (title, header, rows) in enumerate(sections):
        if number:
            writer.writerow([])
        writer.writerow([title])
        writer.writerow(header)
        writer.writerows([[spreadsheet_safe(str(cell)) for cell in row] for row in rows])
    return out.getvalue()
