"""The console's inbox (console/inbox.py, /staff/inbox), with Flask's test client against the
real app, a temporary copy of the project's data and a tracker store written here through
Rasa's own SQLTrackerStore (as tests/test_retrain_questions.py does)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from flask.testing import FlaskClient
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from console.accounts import StaffStore
from retrain.project import Project
from retrain.trainingdata import OUT_OF_SCOPE, TrainingSet
from tests.conftest import PROJECT
from tests.test_console_signin import CONFIG, PASSWORD, csrf_token, sign_in
from web.serve import Site, create_app

HOUR = 3600.0
NOW = time.time()
GIFT = ["do you sell gift cards", "Do you sell gift cards?", "Can I buy a gift certificate?"]
PARKING = "is there parking downtown, call me at 780-555-0199 or jo.smith@example.com"
GYM = "can i hit the gym right after my needling tomorrow"
MARKUP = "<script>alert(1)</script> what do I wear to the session"
NEAR_TEST = "Could you describe the dry needling method please"  # a test question, one word changed
NEW_WORDING = "can you describe the dry needling method to me"  # similar, but a new wording
NEAR_TEST_ALONE = "is IMS just acupuncture with a new name"  # another test question, one word changed
KNOWN = "What is dry needling?"  # already a training example


def said(text: str, when: float, intent: str = "out_of_scope") -> UserUttered:
    """A patient's message as the assistant parsed it."""
    parse: Dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.4}}
    return UserUttered(text, parse["intent"], [], parse, timestamp=when)


def handed_off(text: str, when: float, intent: str = "out_of_scope") -> List[Any]:
    """A message and the phone hand-off that answered it."""
    return [said(text, when, intent), ActionExecuted("action_handoff"), ActionExecuted("action_listen")]


CONVERSATIONS = {
    "p1": handed_off(GIFT[0], NOW - 50 * HOUR) + handed_off(PARKING, NOW - 40 * HOUR, "contact"),
    "p2": handed_off(GIFT[1], NOW - 30 * HOUR, "nlu_fallback") + handed_off(GYM, NOW - 20 * HOUR),
    "p3": handed_off(GIFT[2], NOW - 10 * HOUR) + handed_off(MARKUP, NOW - 5 * HOUR)
    + handed_off(NEAR_TEST, NOW - 4 * HOUR) + handed_off(KNOWN, NOW - 3 * HOUR)
    + handed_off(NEW_WORDING, NOW - 6 * HOUR) + handed_off(NEAR_TEST_ALONE, NOW - 7 * HOUR),
}


@contextlib.contextmanager
def project_with(tmp_path: Path, conversations: Dict[str, List[Event]]) -> Iterator[Path]:
    """A copy of the project's data and test questions, and a tracker store holding
    `conversations` (sender: events); the environment is put back afterwards."""
    saved = dict(os.environ)
    root = tmp_path / "project"
    shutil.copytree(PROJECT / "data", root / "data")
    (root / "tests").mkdir(parents=True)
    shutil.copy2(PROJECT / "tests" / "nlu_heldout.yml", root / "tests")
    for name in ("domain.yml", "endpoints.yml", ".env.example"):
        shutil.copy2(PROJECT / name, root / name)
    tracker_db = tmp_path / "conversations.db"
    (root / ".env").write_text(f"TRACKER_DB={tracker_db}\n")
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tracker_db))
    for sender, events in conversations.items():
        asyncio.run(store.save(DialogueStateTracker.from_events(sender, events)))
    try:
        yield root
    finally:
        os.environ.clear()
        os.environ.update(saved)


def anna(tmp_path: Path) -> StaffStore:
    """A staff database with Anna's account."""
    store = StaffStore(tmp_path / "staff.db")
    store.set_password("anna", PASSWORD, "test")
    return store


@pytest.fixture()
def project(tmp_path: Path) -> Iterator[Path]:
    """A copy of the project's data and test questions, and a tracker store of three patients."""
    with project_with(tmp_path, CONVERSATIONS) as root:
        yield root


@pytest.fixture()
def staff(tmp_path: Path) -> StaffStore:
    """Anna's account."""
    return anna(tmp_path)


@pytest.fixture()
def client(project: Path, staff: StaffStore) -> Iterator[FlaskClient]:
    """Signed in as anna."""
    app = create_app(Site(CONFIG), staff, Project(project))
    with app.test_client() as client:
        assert sign_in(client).status_code == 302
        yield client


def digest(root: Path) -> Dict[str, str]:
    """The content of every file the console may change."""
    files = sorted((root / "data").glob("*.yml")) + [root / "tests" / "nlu_heldout.yml"]
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def groups_of(page: str) -> List[Dict[str, Any]]:
    """The inbox's groups as shown: id, wordings, suggested FAQ."""
    found = []
    for section in re.findall(r'<section class="group".*?</section>', page, re.S):
        selected = re.search(r'<option value="([^"]+)" selected>', section)
        found.append({
            "id": re.search(r'name="group" value="([0-9a-f]+)"', section).group(1),
            "wordings": re.findall(r"<li>(.*?)(?: <span|</li>)", section),
            "suggested": selected.group(1) if selected else None,
            "html": section,
        })
    return found


def inbox(client: FlaskClient) -> List[Dict[str, Any]]:
    response = client.get("/staff/inbox")
    assert response.status_code == 200
    return groups_of(response.get_data(as_text=True))


def group_with(client: FlaskClient, text: str) -> Dict[str, Any]:
    """The group showing a wording that contains `text`."""
    matches = [g for g in inbox(client) if any(text in w for w in g["wordings"])]
    assert len(matches) == 1, f"{text!r} is in {len(matches)} groups"
    return matches[0]


def act(client: FlaskClient, action: str, group: Optional[str] = None, **fields: str):  # type: ignore[no-untyped-def]
    """Post an inbox form with the token of the inbox page."""
    token = csrf_token(client.get("/staff/inbox").get_data(as_text=True))
    data = {"csrf_token": token, **fields}
    if group is not None:
        data["group"] = group
    return client.post(f"/staff/inbox/{action}", data=data)


def test_the_inbox_lists_handed_off_questions_grouped_newest_first(client: FlaskClient) -> None:
    groups = inbox(client)
    shown = [w for g in groups for w in g["wordings"]]
    assert KNOWN not in shown  # already an example: nothing to do
    gift = group_with(client, "gift c")
    assert set(gift["wordings"]) == {"Do you sell gift cards?", GIFT[2]}  # repeats counted once
    assert "Asked 3 times" in gift["html"] and "in 2 wordings" in gift["html"]
    assert not any("gift" in w for g in groups if g["id"] != gift["id"] for w in g["wordings"])
    assert set(groups[0]["wordings"]) == {NEAR_TEST, NEW_WORDING}  # the newest first
    order = [next(i for i, g in enumerate(groups) if any(t in w for w in g["wordings"]))
             for t in (NEAR_TEST, "&lt;script&gt;", "gift", "gym")]
    assert order == sorted(order)


def test_each_group_says_why_it_is_in_the_inbox(client: FlaskClient, tmp_path: Path) -> None:
    """Handed off, "did you mean" suggestions, or an answer the patient rated "didn't help"."""
    def bot(response: str) -> BotUttered:
        return BotUttered("...", metadata={"utter_action": response})

    tap = '/rate_answer{"rating": "not_helpful"}'
    rating = [{"entity": "rating", "value": "not_helpful"}]
    parse = {"text": tap, "intent": {"name": "rate_answer", "confidence": 1.0}, "entities": rating}
    events = [
        said("what are the needle thingies for", NOW - 2 * HOUR, "nlu_fallback"),
        ActionExecuted("action_handoff"), bot("utter_handoff_suggest"), ActionExecuted("action_listen"),
        said("is a sauna ok the day after needling", NOW - HOUR, "faq"), ActionExecuted("utter_faq"),
        bot("utter_faq/exercise_after"), ActionExecuted("utter_anything_else"),
        ActionExecuted("action_listen"),
        UserUttered(tap, parse["intent"], rating, parse, timestamp=NOW - HOUR + 60),
        ActionExecuted("action_rate_answer"), ActionExecuted("action_listen"),
    ]
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(tmp_path / "conversations.db"))
    asyncio.run(store.save(DialogueStateTracker.from_events("p4", events)))
    assert "Why: did you mean." in group_with(client, "needle thingies")["html"]
    assert "Why: rated not helpful." in group_with(client, "sauna")["html"]
    assert "Why: handed off." in group_with(client, "gift c")["html"]


def test_identifiers_are_masked_and_markup_is_shown_as_text(client: FlaskClient) -> None:
    page = client.get("/staff/inbox").get_data(as_text=True)
    assert "780-555-0199" not in page and "jo.smith@example.com" not in page
    assert "is there parking downtown, call me at [phone] or [email]" in page
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; what do I wear" in page


def test_the_best_guess_is_pre_selected_and_nothing_is_applied(client: FlaskClient, project: Path) -> None:
    before = digest(project)
    gym = group_with(client, "gym")
    assert gym["suggested"] == "exercise_after"
    assert '<option value="exercise_after" selected>exercise_after (suggested)</option>' in gym["html"]
    gift = group_with(client, "gift c")  # nearest examples: questions for the phone
    assert gift["suggested"] is None and "Must go to the phone (suggested)" in gift["html"]
    assert "Must go to the phone (suggested)" not in gym["html"]
    assert digest(project) == before


def test_giving_a_group_to_an_faq_teaches_it_and_can_be_undone(
    client: FlaskClient, project: Path, staff: StaffStore
) -> None:
    before = digest(project)
    gym = group_with(client, "gym")
    response = act(client, "teach", gym["id"], faq="exercise_after")
    assert response.status_code == 302
    page = client.get("/staff/inbox").get_data(as_text=True)
    assert "Gave 1 question to exercise_after." in page
    assert not any("gym" in w for g in groups_of(page) for w in g["wordings"])
    examples = TrainingSet.load(Project(project)).examples()
    assert GYM in examples["faq/exercise_after"]
    assert digest(project)["faq.yml"] != before["faq.yml"]
    entry = staff.audit_log()[0]
    assert (entry.who, entry.action, entry.detail) == ("anna", "gave 1 question to exercise_after", GYM)

    assert "console: anna gave 1 question to exercise_after" in page  # what undo would take back
    assert act(client, "undo").status_code == 302
    assert digest(project) == before
    assert any("gym" in w for w in group_with(client, "gym")["wordings"])
    latest = [e.action for e in staff.audit_log()[:2]]
    assert latest == ["undid a change", "gave 1 question to exercise_after"]


def test_must_go_to_the_phone_teaches_out_of_scope_without_identifiers(
    client: FlaskClient, project: Path
) -> None:
    for text in ("gift c", "parking"):
        assert act(client, "phone", group_with(client, text)["id"]).status_code == 302
    taught = TrainingSet.load(Project(project)).examples()[OUT_OF_SCOPE]
    assert "Do you sell gift cards?" in taught and GIFT[2] in taught
    assert "is there parking downtown" in taught
    data = "".join(p.read_text() for p in (project / "data").glob("*.yml"))
    assert "555" not in data and "example.com" not in data


def test_dismissing_takes_a_group_out_and_can_be_undone(
    client: FlaskClient, project: Path, staff: StaffStore
) -> None:
    before = digest(project)
    assert act(client, "dismiss", group_with(client, "gift c")["id"]).status_code == 302
    assert not any("gift" in w for g in inbox(client) for w in g["wordings"])
    assert digest(project) == before
    assert staff.audit_log()[0].action == "dismissed 2 questions"
    assert act(client, "bring-back").status_code == 302
    assert group_with(client, "gift c")
    assert staff.audit_log()[0].action == "brought back 2 questions"


def test_a_test_question_is_never_trained_on(client: FlaskClient, project: Path) -> None:
    before = digest(project)
    response = act(client, "teach", group_with(client, "new name")["id"], faq="vs_acupuncture")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Nothing was changed" in page and "held-out test questions" in page
    assert digest(project) == before


def test_in_a_group_the_other_questions_are_taught_and_the_refused_one_named(
    client: FlaskClient, project: Path
) -> None:
    group = group_with(client, "method please")
    assert set(group["wordings"]) == {NEAR_TEST, NEW_WORDING}
    response = act(client, "teach", group["id"], faq="what_is_dry_needling")
    assert response.status_code == 302
    page = client.get("/staff/inbox").get_data(as_text=True)
    assert "Gave 1 question to what_is_dry_needling." in page
    assert re.search(r"Not taught: .*method please.*held-out test questions", page)
    taught = TrainingSet.load(Project(project)).examples()["faq/what_is_dry_needling"]
    assert NEW_WORDING in taught and NEAR_TEST not in taught


@pytest.mark.parametrize(
    "fields, status, message",
    [
        ({"faq": "no_such_faq"}, 409, "There is no FAQ or label called &#39;no_such_faq&#39;"),
        ({"faq": "<b>exercise_after</b>"}, 409, "&lt;b&gt;exercise_after&lt;/b&gt;"),
        ({"faq": "greet"}, 409, "&#39;greet&#39; is not an FAQ"),
        ({"faq": "x" * 5000}, 400, "Nothing was changed: FAQ name"),
        ({"faq": ""}, 400, "Nothing was changed: FAQ name"),
        ({"faq": "exercise_after", "group": "0123456789abcdef"}, 409, "no longer in the inbox"),
        ({"faq": "exercise_after", "group": "<i>" * 3000}, 400, "Nothing was changed: Questions"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    client: FlaskClient, project: Path, staff: StaffStore, fields: Dict[str, str], status: int, message: str
) -> None:
    before, audited = digest(project), len(staff.audit_log())
    group = fields.pop("group", group_with(client, "gym")["id"])
    response = act(client, "teach", group, **fields)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert message in page and "<b>exercise_after</b>" not in page and "<i>" not in page
    assert digest(project) == before and len(staff.audit_log()) == audited


def test_a_huge_post_and_a_post_without_token_change_nothing(
    client: FlaskClient, project: Path, staff: StaffStore
) -> None:
    before, audited = digest(project), len(staff.audit_log())
    gym = group_with(client, "gym")["id"]
    assert act(client, "teach", gym, faq="exercise_after", extra="x" * 200_000).status_code == 413
    assert client.post("/staff/inbox/teach", data={"group": gym, "faq": "exercise_after"}).status_code == 400
    assert client.post("/staff/inbox/undo").status_code == 400
    assert digest(project) == before and len(staff.audit_log()) == audited


def test_undo_with_nothing_to_undo_says_so(client: FlaskClient, project: Path) -> None:
    before = digest(project)
    response = act(client, "undo")
    assert response.status_code == 409 and "There is no change to undo." in response.get_data(as_text=True)
    response = act(client, "bring-back")
    assert response.status_code == 409 and "No dismissed questions" in response.get_data(as_text=True)
    assert digest(project) == before


def test_signed_out_the_inbox_and_its_actions_show_only_the_sign_in_page(
    project: Path, staff: StaffStore
) -> None:
    app = create_app(Site(CONFIG), staff, Project(project))
    with app.test_client() as client:
        response = client.get("/staff/inbox", follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.request.path == "/staff/signin" and "gift" not in page and "parking" not in page
        token = csrf_token(page)
        before = digest(project)
        response = client.post("/staff/inbox/dismiss", data={"csrf_token": token, "group": "0" * 16})
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/signin")
        assert digest(project) == before and staff.dismissed() == set()


def test_a_group_handled_by_a_colleague_meanwhile_is_not_handled_twice(
    project: Path, staff: StaffStore
) -> None:
    """Two people with the same inbox open: the second click changes nothing and says why."""
    staff.set_password("bob", PASSWORD, "test")
    app = create_app(Site(CONFIG), staff, Project(project))
    anna, bob = app.test_client(), app.test_client()  # no `with`: each request its own context
    assert sign_in(anna).status_code == 302 and sign_in(bob, "bob").status_code == 302
    gym = group_with(bob, "gym")["id"]
    token = csrf_token(bob.get("/staff/inbox").get_data(as_text=True))
    assert act(anna, "teach", gym, faq="exercise_after").status_code == 302
    after_first = digest(project)
    response = bob.post("/staff/inbox/phone", data={"csrf_token": token, "group": gym})
    assert response.status_code == 409 and "no longer in the inbox" in response.get_data(as_text=True)
    assert digest(project) == after_first
    assert GYM not in TrainingSet.load(Project(project)).examples()[OUT_OF_SCOPE]
    latest = staff.audit_log()[0]
    assert (latest.who, latest.action) == ("anna", "gave 1 question to exercise_after")
