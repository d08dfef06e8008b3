"""The console's Insights page (console/insights.py, /staff/insights), with Flask's test client
against the real app and a tracker store of known conversations written through Rasa's own
SQLTrackerStore (as tests/test_console_inbox.py does)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest
from flask.testing import FlaskClient
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered

from console.accounts import StaffStore
from console.insights import Period, figures, parse_period
from retrain.project import Project
from tests.test_console_inbox import anna, project_with
from tests.test_console_signin import CONFIG, sign_in
from web.serve import Site, create_app

TODAY = date.today()
DAY_1 = TODAY - timedelta(days=2)
DAY_2 = TODAY - timedelta(days=1)
LONG_AGO = TODAY - timedelta(days=40)
GIFT = "do you sell gift cards, call me at 780-555-0199"
VAGUE = "whats the thing with the needles and stuff"
JOG = "is jogging the same evening after my appointment ok"
FORMULA = "=HYPERLINK(\"http://x\") do you do massages"
OLD_QUESTION = "tell me what dry needling even is"


def at(day: date, hour: int, minute: int = 0) -> float:
    """A local time of a day."""
    return datetime(day.year, day.month, day.day, hour, minute).timestamp()


def said(text: str, intent: str, when: float, entities: List[Dict[str, Any]] | None = None) -> UserUttered:
    """A patient's message as the assistant parsed it."""
    parse: Dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.9},
                             "entities": entities or []}
    return UserUttered(text, parse["intent"], parse["entities"], parse, timestamp=when)


def replied(action: str, *responses: str) -> List[Any]:
    """An action and the bot messages it sent (their domain responses, as Rasa keeps them)."""
    return [ActionExecuted(action), *(BotUttered("...", metadata={"utter_action": r}) for r in responses)]


def answer(text: str, key: str, when: float) -> List[Any]:
    """A question the page answered, then "anything else?" with the rating buttons."""
    return [said(text, "faq", when), *replied("utter_faq", f"utter_faq/{key}"),
            *replied("utter_anything_else", "utter_anything_else"), ActionExecuted("action_listen")]


def rate(value: str, when: float) -> List[Any]:
    """A tap on a rating button, and the assistant's reply."""
    payload = f'/rate_answer{{"rating": "{value}"}}'
    reply = "utter_rating_not_helpful" if value == "not_helpful" else "utter_rating_thanks"
    return [said(payload, "rate_answer", when, [{"entity": "rating", "value": value}]),
            *replied("action_rate_answer", reply), ActionExecuted("action_listen")]


def handoff(text: str, intent: str, when: float, response: str = "utter_handoff") -> List[Any]:
    """A message handed to the phone line (or given "did you mean" suggestions)."""
    return [said(text, intent, when), *replied("action_handoff", response), ActionExecuted("action_listen")]


CONVERSATIONS = {
    "c1": [said("/start_chat", "start_chat", at(DAY_1, 9)),
           *replied("action_privacy_notice", "utter_privacy_notice"), *replied("utter_greet", "utter_greet"),
           *answer("what is a trigger point", "what_is_trigger_point", at(DAY_1, 9, 1)),
           *rate("helpful", at(DAY_1, 9, 2))],
    "c2": [*answer(JOG, "exercise_after", at(DAY_1, 13)), *rate("not_helpful", at(DAY_1, 13, 1)),
           *handoff(GIFT, "out_of_scope", at(DAY_1, 13, 2))],
    "c3": [*handoff(VAGUE, "nlu_fallback", at(DAY_2, 10), "utter_handoff_suggest"),
           said("I have crushing chest pain", "emergency", at(DAY_2, 10, 1)),
           *replied("utter_emergency", "utter_emergency"),
           *answer("trigger point meaning", "what_is_trigger_point", at(DAY_2, 10, 2)),
           said("hello", "greet", at(DAY_2, 10, 3)), *replied("utter_greet", "utter_greet"),
           *handoff(FORMULA, "out_of_scope", at(DAY_2, 10, 4))],
    "old": [*answer(OLD_QUESTION, "what_is_dry_needling", at(LONG_AGO, 11)),
            *rate("not_helpful", at(LONG_AGO, 11, 1)),
            *handoff("gift vouchers?", "out_of_scope", at(LONG_AGO, 12))],
}


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Path]:
    """A copy of the project's data, and a tracker store of the conversations above."""
    with project_with(tmp_path, CONVERSATIONS) as root:
        yield root


@pytest.fixture()
def staff(tmp_path: Path) -> StaffStore:
    """Anna's account."""
    return anna(tmp_path)


@pytest.fixture()
def client(store: Path, staff: StaffStore) -> Iterator[FlaskClient]:
    """Signed in as anna."""
    app = create_app(Site(CONFIG), staff, Project(store))
    with app.test_client() as client:
        assert sign_in(client).status_code == 302
        yield client


def rows(page: str, table: str) -> List[List[str]]:
    """The body rows of one of the page's tables, cell texts."""
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', page, re.S)
    assert body, f"no table {table}"
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
            for r in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)]


def test_the_figures_of_a_period(client: FlaskClient) -> None:
    """Per day, by kind, FAQs, ratings and unanswered groups of the last 30 days; the old chat is out."""
    response = client.get("/staff/insights")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    per_day = {r[0]: r[1:] for r in rows(page, "table-per-day")}
    assert len(per_day) == 30 and per_day[str(TODAY)] == ["0", "0"]
    # the widget's opening message and the rating taps are not messages
    assert per_day[str(DAY_1)] == ["2", "3"] and per_day[str(DAY_2)] == ["1", "5"]
    assert rows(page, "table-kinds") == [
        ["answered", "3"], ["handed off", "2"], ["did you mean", "1"], ["emergency", "1"], ["other", "1"]]
    assert rows(page, "table-faqs") == [["what_is_trigger_point", "2"], ["exercise_after", "1"]]
    assert rows(page, "table-ratings") == [["exercise_after", "0", "1"], ["what_is_trigger_point", "1", "0"]]
    unanswered = {r[0]: r[1:] for r in rows(page, "table-unanswered")}
    assert unanswered == {
        "do you sell gift cards, call me at [phone]": ["1", "1", "handed off"],
        VAGUE: ["1", "1", "did you mean"],
        JOG: ["1", "1", "rated not helpful"],
        "=HYPERLINK(&#34;http://x&#34;) do you do massages": ["1", "1", "handed off"],
    }
    assert "780-555-0199" not in page and "gift vouchers" not in page


def test_the_charts_are_drawn_from_the_tables_by_a_local_chart_js(client: FlaskClient) -> None:
    page = client.get("/staff/insights").get_data(as_text=True)
    assert '<script src="/vendor/chart.js" defer></script>' in page
    assert '<script src="/static/insights.js" defer></script>' in page
    assert "<script>" not in page  # the CSP runs no inline script
    for table in ("table-per-day", "table-kinds", "table-faqs", "table-ratings"):
        assert f'data-table="{table}"' in page and f'<table id="{table}">' in page
    chart = client.get("/vendor/chart.js")
    assert chart.status_code == 200 and b"Chart" in chart.data
    assert b"data-table" in client.get("/static/insights.js").data
    assert "script-src 'self'" in client.get("/staff/insights").headers["Content-Security-Policy"]
    assert '<a href="/staff/insights">Insights</a>' in page


def test_a_chosen_period(client: FlaskClient) -> None:
    """Only the chosen days count; a long-ago period has the old conversation."""
    page = client.get(f"/staff/insights?from={DAY_2}&to={DAY_2}").get_data(as_text=True)
    assert rows(page, "table-per-day") == [[str(DAY_2), "1", "5"]]
    assert rows(page, "table-faqs") == [["what_is_trigger_point", "1"]]
    assert "No ratings in this period." in page
    old = client.get(f"/staff/insights?from={LONG_AGO}&to={LONG_AGO}").get_data(as_text=True)
    assert rows(old, "table-ratings") == [["what_is_dry_needling", "0", "1"]]
    assert {r[0] for r in rows(old, "table-unanswered")} == {OLD_QUESTION, "gift vouchers?"}


def test_unreadable_or_reversed_dates_show_the_last_30_days_and_say_why() -> None:
    today = date(2026, 3, 31)
    assert parse_period("", "", today) == (Period(date(2026, 3, 2), today), "")
    period, problem = parse_period("2026-13-01", "2026-03-05", today)
    assert period == Period(date(2026, 3, 2), today) and "YYYY-MM-DD" in problem
    assert "after the last day" in parse_period("2026-03-05", "2026-03-01", today)[1]
    assert "at most 366 days" in parse_period("2020-01-01", "2026-03-01", today)[1]
    assert parse_period("2026-03-05", "", today) == (Period(date(2026, 3, 5), date(2026, 3, 5)), "")


def test_a_bad_period_on_the_page_says_why(client: FlaskClient) -> None:
    page = client.get("/staff/insights?from=soon&to=later").get_data(as_text=True)
    assert "could not be read" in page and len(rows(page, "table-per-day")) == 30


def test_the_csv_has_the_tables_of_the_period_spreadsheet_safe(client: FlaskClient) -> None:
    response = client.get(f"/staff/insights.csv?from={DAY_1}&to={DAY_2}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert f'filename="insights-{DAY_1}-to-{DAY_2}.csv"' in response.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert lines[:3] == [["Period"], ["First day", "Last day"], [str(DAY_1), str(DAY_2)]]
    assert [str(DAY_1), "2", "3"] in lines and [str(DAY_2), "1", "5"] in lines
    assert ["did you mean", "1"] in lines and ["what_is_trigger_point", "2"] in lines
    assert ["exercise_after", "0", "1"] in lines
    assert ["do you sell gift cards, call me at [phone]", "1", "1"] in lines
    assert ["'" + FORMULA, "1", "1"] in lines  # a formula stays text in a spreadsheet
    assert not any(cell.startswith("=") for line in lines for cell in line)


def test_signed_out_insights_show_only_the_sign_in_page(store: Path, staff: StaffStore) -> None:
    app = create_app(Site(CONFIG), staff, Project(store))
    with app.test_client() as client:
        for url in ("/staff/insights", "/staff/insights.csv"):
            response = client.get(url, follow_redirects=True)
            assert response.request.path == "/staff/signin"
            assert "gift" not in response.get_data(as_text=True)


def test_figures_count_the_tracker_events_directly() -> None:
    """The aggregation alone, without the page: same numbers for the conversations above."""
    found = figures(CONVERSATIONS, Period(DAY_1, DAY_2))
    assert (found.conversations, found.messages) == (3, 8)
    assert found.kinds["answered"] == 3 and found.kinds["emergency"] == 1
    assert sorted((a.text, a.reason) for a in found.asked) == sorted([
        (JOG, "rated not helpful"), (GIFT, "handed off"), (VAGUE, "did you mean"), (FORMULA, "handed off")])
