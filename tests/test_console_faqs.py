"""The console's FAQs pages (console/faqs.py, /staff/faqs), with Flask's test client against the
real app, a temporary copy of the project's data and the assistant's real sentence encoder."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Dict, Optional

import pytest
from flask.testing import FlaskClient

from console.accounts import StaffStore
from retrain.faithfulness import page_file
from retrain.project import Project
from retrain.trainingdata import TrainingSet, faq_label
from tests import test_console_inbox as inbox_tests
from tests.conftest import PROJECT

# The inbox tests' fixtures: a temporary copy of the project, its staff, a signed-in client.
client, project, staff = inbox_tests.client, inbox_tests.project, inbox_tests.staff
digest = inbox_tests.digest

ANSWER = "/staff/faqs/exercise_after/answer"
QUESTIONS = "/staff/faqs/exercise_after/questions"
REMOVE = "/staff/faqs/exercise_after/remove"
INVENTED = "Dry needling cures arthritis."
PARAPHRASE = "After a treatment you should avoid high-impact or strenuous activity."
NEW_ANSWER = (
    "After a dry needling treatment, avoid high-impact or strenuous activities. That gives your "
    "body time to recover."
)


@pytest.fixture(autouse=True)
def clinic_page(project: Path) -> None:
    """The clinic's page in the copy of the project, as answers are checked against it."""
    target = page_file(Project(project))
    target.parent.mkdir(parents=True)
    shutil.copy2(page_file(Project(PROJECT)), target)


def field(page: str, name: str) -> str:
    """The value of the first hidden field `name` of a page."""
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} field"
    return found.group(1)


def page_of(client: FlaskClient, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.text


def post(client: FlaskClient, url: str, data: Dict[str, object], page: Optional[str] = None):  # type: ignore[no-untyped-def]
    """Post a form of `page` (default: the page at `url`'s FAQ) with its token and version."""
    page = page if page is not None else page_of(client, url.rsplit("/", 1)[0])
    form = {"csrf_token": field(page, "csrf_token"), "version": field(page, "version"), **data}
    return client.post(url, data=form)


def training(root: Path) -> TrainingSet:
    return TrainingSet.load(Project(root))


def test_signed_out_the_faqs_pages_lead_to_sign_in(project: Path, staff: StaffStore) -> None:
    from tests.test_console_signin import CONFIG
    from web.serve import Site, create_app

    app = create_app(Site(CONFIG), staff, Project(project))
    with app.test_client() as anonymous:
        for url in ("/staff/faqs", "/staff/faqs/exercise_after", "/staff/faqs/new"):
            response = anonymous.get(url)
            assert response.status_code == 302 and "/staff/signin" in response.headers["Location"]
        before = digest(project)
        assert anonymous.post(ANSWER, data={"answer": "x"}).status_code == 400  # no CSRF token
        assert digest(project) == before


def test_the_list_shows_every_faq_with_answer_and_questions(client: FlaskClient, project: Path) -> None:
    page = page_of(client, "/staff/faqs")
    data = training(project)
    for key, answer in data.answers().items():
        assert f'href="/staff/faqs/{key}"' in page
        assert answer.replace("'", "&#39;") in page
    assert "what is intramuscular stimulation" in page  # an example question
    test_question = data.examples(test=True)[faq_label("exercise_after")][0]
    assert test_question.replace("'", "&#39;") in page


def test_an_faq_page_shows_the_check_of_its_answer_sentence_by_sentence(client: FlaskClient) -> None:
    page = page_of(client, "/staff/faqs/exercise_after")
    assert "Every sentence of this answer is on the clinic's page." in page
    assert "Avoid high impact or strenuous activities after treatments" in page  # the closest page sentence
    assert 'class="flagged"' not in page and "Warning:" not in page


def test_checking_an_invented_claim_warns_and_changes_nothing(client: FlaskClient, project: Path) -> None:
    before = digest(project)
    response = post(client, ANSWER, {"answer": f"{PARAPHRASE} {INVENTED}", "action": "check"})
    page = response.text
    assert response.status_code == 200, page
    shown = " ".join(page.split())
    assert "Warning: 1 sentence of this answer is not on the clinic's page." in shown
    assert "This claim is not on the clinic's page: it uses words the page never uses: arthritis" in shown
    assert digest(project) == before


def test_a_flagged_answer_is_saved_only_with_the_confirmation(
    client: FlaskClient, project: Path, staff: StaffStore
) -> None:
    before = digest(project)
    answer = f"{PARAPHRASE} {INVENTED}"
    refused = post(client, ANSWER, {"answer": answer, "action": "save"})
    assert refused.status_code == 409
    assert "not on the clinic&#39;s page (marked below). Nothing was saved." in refused.text
    assert digest(project) == before
    saved = post(client, ANSWER, {"answer": answer, "action": "save", "confirm": "y"})
    assert saved.status_code == 302
    assert training(project).answers()["exercise_after"] == answer
    actions = [entry.action for entry in staff.audit_log()]
    assert any(action.startswith("changed the answer of exercise_after (1 sentences") for action in actions)


def test_a_supported_answer_is_saved_undone_and_the_file_comes_back_byte_identical(
    client: FlaskClient, project: Path, staff: StaffStore
) -> None:
    before = digest(project)
    response = post(client, ANSWER, {"answer": NEW_ANSWER, "action": "save"})
    assert response.status_code == 302
    assert training(project).answers()["exercise_after"] == NEW_ANSWER
    assert "Saved the new answer of exercise_after." in page_of(client, "/staff/faqs/exercise_after")
    entry = staff.audit_log(limit=1)[0]
    assert (entry.who, entry.action) == ("anna", "changed the answer of exercise_after")
    list_page = page_of(client, "/staff/faqs")
    undone = client.post("/staff/faqs/undo", data={"csrf_token": field(list_page, "csrf_token")})
    assert undone.status_code == 302
    assert digest(project) == before


def test_adding_and_removing_questions_follow_the_clis_rules(client: FlaskClient, project: Path) -> None:
    new = "is a walk fine straight after my needling"
    response = post(client, QUESTIONS, {"questions": f"{new}\n\n"})
    assert response.status_code == 302
    assert new in training(project).examples()[faq_label("exercise_after")]
    after_add = digest(project)
    # a test question is never trained on
    test_question = training(project).examples(test=True)[faq_label("exercise_after")][0]
    refused = post(client, QUESTIONS, {"questions": test_question})
    assert refused.status_code == 409 and "held-out test questions" in refused.text
    # a question teaches only one answer
    other = training(project).examples()[faq_label("what_is_dry_needling")][0]
    refused = post(client, QUESTIONS, {"questions": other})
    assert refused.status_code == 409 and "A question can teach only one answer." in refused.text
    assert digest(project) == after_add
    removed = post(client, REMOVE, {"question": [new]})
    assert removed.status_code == 302
    assert new not in training(project).examples()[faq_label("exercise_after")]


def test_removing_every_example_of_an_faq_is_refused(client: FlaskClient, project: Path) -> None:
    before = digest(project)
    every = training(project).examples()[faq_label("exercise_after")]
    response = post(client, REMOVE, {"question": every})
    assert response.status_code == 409 and "Keep at least one." in response.text
    assert digest(project) == before


def test_test_questions_can_be_added_and_removed(client: FlaskClient, project: Path) -> None:
    new = "how soon can i lift weights after ims"
    assert post(client, QUESTIONS, {"questions": new, "test": "y"}).status_code == 302
    assert new in training(project).examples(test=True)[faq_label("exercise_after")]
    assert new not in training(project).examples()[faq_label("exercise_after")]
    assert post(client, REMOVE, {"question": [new], "test": "y"}).status_code == 302
    assert new not in training(project).examples(test=True).get(faq_label("exercise_after"), [])


def test_a_new_faq_is_checked_then_added(client: FlaskClient, project: Path) -> None:
    page = page_of(client, "/staff/faqs/new")
    data = {
        "key": "needle_colour", "answer": "The needle is sterile and single-use.",
        "examples": "\n".join(
            ["what colour are the needles", "are the needles silver or gold", "what do the needles look like"]
        ),
        "tests": "what shade is the needle", "action": "save",
    }
    response = post(client, "/staff/faqs/new", data, page)
    assert response.status_code == 302, response.text
    assert response.headers["Location"].endswith("/staff/faqs/needle_colour")
    data_now = training(project)
    assert data_now.answers()["needle_colour"] == data["answer"]
    assert len(data_now.examples()[faq_label("needle_colour")]) == 3
    assert "needle_colour" in page_of(client, "/staff/faqs")


def test_a_new_faq_with_an_invented_answer_needs_the_confirmation(client: FlaskClient, project: Path) -> None:
    before = digest(project)
    page = page_of(client, "/staff/faqs/new")
    data = {"key": "arthritis", "answer": INVENTED, "examples": "a\nb b\nc c c", "action": "save"}
    reserved = post(client, "/staff/faqs/new", {**data, "key": "new", "confirm": "y"}, page)
    assert reserved.status_code == 409 and "&#39;new&#39; is the name of a console page" in reserved.text
    response = post(client, "/staff/faqs/new", data, page)
    text = response.text
    assert response.status_code == 409 and "1 sentence of the answer is not on the clinic&#39;s page" in text
    assert "arthritis" in text  # what was typed is kept
    assert digest(project) == before


def test_bad_input_gives_a_clear_message_and_changes_nothing(client: FlaskClient, project: Path) -> None:
    before = digest(project)
    url = ANSWER
    script = "Avoid strenuous activities. <script>alert(1)</script>"
    markup = post(client, url, {"answer": script, "action": "save"})
    assert markup.status_code == 409 and "must be plain text" in markup.text
    assert "<script>alert(1)" not in markup.text
    slot = post(client, url, {"answer": "Avoid strenuous activities {name}.", "action": "save"})
    assert slot.status_code == 409 and "must be plain text" in slot.text
    long_answer = post(client, url, {"answer": "Avoid strenuous activities. " * 100, "action": "save"})
    assert long_answer.status_code == 409 and "keep it under 1500" in long_answer.text
    longer = post(client, url, {"answer": "Avoid strenuous activities. " * 200, "action": "save"})
    assert longer.status_code == 400 and "Nothing was changed" in longer.text
    huge = post(client, QUESTIONS, {"questions": "x" * 100_000})
    assert huge.status_code == 413 and "Nothing was changed" in huge.text
    unknown = client.get("/staff/faqs/no_such_faq")
    assert unknown.status_code == 404 and "There is no FAQ called &#39;no_such_faq&#39;" in unknown.text
    weird = client.get("/staff/faqs/%3Cb%3Ehi%3C%2Fb%3E")
    assert weird.status_code == 404 and "<b>hi" not in weird.text
    page = page_of(client, "/staff/faqs/exercise_after")
    to_unknown = post(client, "/staff/faqs/no_such_faq/questions", {"questions": "hello there"}, page)
    assert to_unknown.status_code == 404
    version = field(page, "version")
    no_token = client.post(url, data={"answer": NEW_ANSWER, "action": "save", "version": version})
    assert no_token.status_code == 400
    assert digest(project) == before


def test_a_concurrent_edit_is_refused_and_shown(client: FlaskClient, project: Path) -> None:
    page = page_of(client, "/staff/faqs/exercise_after")  # loaded by one member of staff
    other = page_of(client, "/staff/faqs/exercise_after")  # and by another
    assert post(client, QUESTIONS, {"questions": "can i swim after ims"}, other).status_code == 302
    after_other = digest(project)
    response = post(client, ANSWER, {"answer": NEW_ANSWER, "action": "save"}, page)
    text = response.text
    assert response.status_code == 409 and "Someone changed the FAQs since you opened this page" in text
    assert "can i swim after ims" in text  # the page as it is now
    assert digest(project) == after_other
    # the page shown now carries the new version: saving from it works
    again = post(client, ANSWER, {"answer": NEW_ANSWER, "action": "save"}, text)
    assert again.status_code == 302
