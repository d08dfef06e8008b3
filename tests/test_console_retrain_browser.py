"""The console's Retrain page in a real browser (headless Chromium), against real servers.

One flow, in this file's order, on a stack of its own (tests/browser.py) that serves with
one Rasa worker: PUT /model, which a retrain sends, reaches a single worker, so with the
two of `make run` (the session's `web_stack`) the new model would be installed but not
loaded. The Rasa server has its HTTP API on, so GET /status tells which model it serves.

1. A broken change is refused before anything is trained: the reasons show, models/ and
   the served model stay, the chat answers as before.
2. A question the chat hands off is given to its FAQ from the Inbox; "Retrain now" trains
   (the only training here, a few minutes), the bar moves, the report shows each FAQ,
   the new model is installed and the running Rasa server loads it: the same question
   now gets the FAQ's answer.
3. The page with its report passes axe-core and fits a phone's width.
4. "Put back the previous model" restores models/ byte for byte and the Rasa server
   loads it: the question is handed off again.

Screenshots console-retrain-progress.png and console-retrain-report.png go where
tests/browser.py says (`make screenshots`: docs/img/, shown by docs/retraining.md).
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Iterator, Tuple

import pytest
from playwright.sync_api import Browser, Page, expect

from core.settings import MODEL_FILE
from retrain.pipeline import previous_models
from retrain.project import Project
from retrain.trainingdata import TrainingSet
from tests.browser import (
    CLINIC_ENV,
    DESKTOP,
    SIZES,
    WebStack,
    assert_accessible,
    bot_says,
    create_staff_account,
    open_chat,
    open_page,
    overflow,
    require_installed,
    running_stack,
    screenshot,
    send,
    settle,
    staff_page,
)
from tests.test_console_browser import ask_until_handed_off, group_of

FAQ = "exercise_after"
# Handed off by the trained model (far from exercise_after's examples, which answers it).
QUESTION = "can I go to the gym the day after my session"
# A question the trained model answers (the greeting's first suggestion).
KNOWN = "What is dry needling?"
KNOWN_FAQ = "what_is_dry_needling"
# An answer without example questions: what a hand edit or a bad merge can leave behind.
ORPHAN = "\n  utter_faq/orphan_answer:\n  - text: An answer no question leads to.\n"
ACCOUNT = ("ben", "a long enough password for ben")
# Checking the data (`rasa data validate`) and starting the job; training (2 cores, shared).
CHECK_MS = 180_000
TRAIN_MS = 1_200_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    """The whole stack on its own copy of the project, with one Rasa worker."""
    require_installed()
    with running_stack(tmp_path_factory.mktemp("retrain-stack"), {"SANIC_WORKERS": "1"}) as running:
        yield running


@pytest.fixture(scope="module")
def account(stack: WebStack) -> Tuple[str, str]:
    """A console account on this stack, made as `make staff-user` makes it."""
    create_staff_account(stack, *ACCOUNT)
    return ACCOUNT


def digest(path: Path) -> str:
    """The SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def served_model(stack: WebStack) -> str:
    """The id of the model the running Rasa server answers with (GET /status)."""
    query = urllib.parse.urlencode({"token": stack.token})
    with urllib.request.urlopen(f"{stack.rasa_url}/status?{query}", timeout=10) as response:
        return str(json.load(response)["model_id"])


def model_id(model: Path) -> str:
    """The id a model file was trained with (its metadata), as GET /status reports it."""
    from rasa.engine.storage.local_model_storage import LocalModelStorage

    return LocalModelStorage.metadata_from_archive(model).model_id


def answer_start(stack: WebStack, faq: str) -> str:
    """The first words of an FAQ's answer in the copy's data, as a pattern for bot_says."""
    answer = TrainingSet.load(Project(stack.root)).answers()[faq]
    return re.escape(" ".join(answer.split()[:8]))


def ask_and_get_the_answer(page: Page, question: str, pattern: str) -> None:
    """Ask in the chat; the reply is the answer (no new hand-off to the phone)."""
    handoffs = page.locator(".rw-response").filter(has_text=CLINIC_ENV["CLINIC_PHONE"])
    before = handoffs.count()
    send(page, question)
    bot_says(page, pattern)
    settle(page)
    expect(handoffs).to_have_count(before)


def test_a_broken_change_is_refused_and_the_model_in_service_stays(
    browser: Browser, stack: WebStack, account: Tuple[str, str]
) -> None:
    model = stack.root / MODEL_FILE
    before = digest(model)
    assert served_model(stack) == model_id(model)
    responses = stack.root / "data" / "responses.yml"
    original = responses.read_bytes()
    # The console refuses the edits that would leave an FAQ without questions or answer, so
    # the data file is broken directly, as an edit by hand or a bad merge can.
    responses.write_bytes(original + ORPHAN.encode())
    try:
        with staff_page(browser, stack, account, path="retrain") as page:
            page.get_by_role("button", name="Retrain now").click()
            outcome = page.locator("section.outcome-failed")
            expect(outcome).to_be_visible(timeout=CHECK_MS)
            expect(outcome).to_contain_text("Nothing was installed: the assistant keeps the current model.")
            expect(outcome).to_contain_text("The training data is not ready")
            expect(outcome).to_contain_text("FAQ 'orphan_answer' has an answer but no example questions")
            expect(outcome).not_to_contain_text("Training a new model")  # refused before training
            expect(page.get_by_role("button", name="Retrain now")).to_be_visible()
    finally:
        responses.write_bytes(original)
    assert digest(model) == before
    assert sorted(path.name for path in model.parent.iterdir()) == [model.name]
    assert previous_models(Project(stack.root)) == []
    assert served_model(stack) == model_id(model)
    with open_page(browser, stack, DESKTOP) as chat:
        open_chat(chat.page)
        ask_and_get_the_answer(chat.page, KNOWN, answer_start(stack, KNOWN_FAQ))


def test_teach_then_retrain_makes_the_assistant_answer_it(
    browser: Browser, stack: WebStack, account: Tuple[str, str]
) -> None:
    model = stack.root / MODEL_FILE
    before = digest(model)
    with open_page(browser, stack, DESKTOP) as chat:
        open_chat(chat.page)
        ask_until_handed_off(chat.page, QUESTION)

    with staff_page(browser, stack, account, path="inbox") as page:
        asked = group_of(page, QUESTION)
        asked.get_by_label("FAQ", exact=True).select_option(FAQ)
        asked.get_by_role("button", name="Give to this FAQ").click()
        expect(page.get_by_role("status")).to_have_text(f"Gave 1 question to {FAQ}.")

        page.get_by_role("navigation", name="Console").get_by_role("link", name="Retrain").click()
        page.get_by_role("button", name="Retrain now").click()
        bar, step = page.get_by_label("Progress (by step)"), page.locator("#retrain-step")
        expect(bar).to_be_visible()
        first = int(bar.get_attribute("value") or 0)
        expect(step).to_have_text("Step 2 of 4: Training a new model (a minute or two) ...", timeout=CHECK_MS)
        expect(bar).to_have_attribute("value", "15")  # moved on by itself (retrain.js)
        assert first < 15
        screenshot(page.locator("#retrain-progress"), "console-retrain-progress")
        assert_accessible(page, "the Retrain page while it trains")
        with staff_page(browser, stack, account, "phone", "retrain") as phone:
            expect(phone.get_by_label("Progress (by step)")).to_be_visible()
            assert_accessible(phone, "the Retrain page while it trains, on a phone")
            measured = overflow(phone, "body *")
            assert measured["scrollWidth"] <= measured["width"], measured

        report = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Last retrain")))
        expect(report).to_be_visible(timeout=TRAIN_MS)
        expect(report.get_by_role("status")).to_have_text(
            "Installed: the new model does at least as well as the current one and replaces it."
        )
        expect(report).to_contain_text(f"The running assistant at {stack.rasa_url} now uses the new model")
        table = report.get_by_role("table", name=re.compile("^Test questions answered right"))
        for row in ("FAQ accuracy", "Out-of-scope hand-off", FAQ, KNOWN_FAQ):
            expect(table.get_by_role("rowheader", name=row, exact=True)).to_be_visible()
        screenshot(report, "console-retrain-report")

    assert digest(model) != before
    kept = previous_models(Project(stack.root))
    assert len(kept) == 1 and digest(kept[0]) == before
    assert served_model(stack) == model_id(model)  # loaded by the running server, no restart
    with open_page(browser, stack, DESKTOP) as chat:
        open_chat(chat.page)
        ask_and_get_the_answer(chat.page, QUESTION, answer_start(stack, FAQ))


@pytest.mark.parametrize("size", list(SIZES))
def test_the_retrain_page_with_its_report_is_accessible_and_fits_the_screen(
    browser: Browser, stack: WebStack, account: Tuple[str, str], size: str
) -> None:
    with staff_page(browser, stack, account, size, "retrain") as page:
        expect(page.get_by_role("table")).to_be_visible()  # the last retrain's report
        assert_accessible(page, f"the Retrain page with a report ({size})")
        measured = overflow(page, "body *")
        assert measured["scrollWidth"] <= measured["width"], f"it scrolls sideways: {measured}"


def test_rollback_puts_back_the_previous_model(
    browser: Browser, stack: WebStack, account: Tuple[str, str]
) -> None:
    model, project = stack.root / MODEL_FILE, Project(stack.root)
    kept = previous_models(project)
    assert kept, "no previous model: the retrain above did not install one"
    previous, replaced = digest(kept[-1]), digest(model)
    with staff_page(browser, stack, account, path="retrain") as page:
        page.get_by_role("button", name="Put back the previous model").click()
        outcome = page.locator("section", has=page.get_by_role("heading", name=re.compile("^Last rollback")))
        expect(outcome).to_be_visible(timeout=CHECK_MS)
        put_back = "Put back: the assistant uses the previous model again."
        expect(outcome.get_by_role("status")).to_have_text(put_back)
        expect(outcome).to_contain_text(f"The running assistant at {stack.rasa_url} now uses the new model")
        expect(page.get_by_text("There is no previous model to put back")).to_be_visible()
        page.get_by_role("navigation", name="Console").get_by_role("link", name="Home").click()
        for done in ("started a retrain", "retrain finished: Installed", "rollback finished: Put back"):
            expect(page.get_by_text(done).first).to_be_visible()
    assert digest(model) == previous  # byte for byte
    assert digest(project.work_dir / "rolled-back.tar.gz") == replaced
    assert previous_models(project) == []
    assert served_model(stack) == model_id(model)
    with open_page(browser, stack, DESKTOP) as chat:
        open_chat(chat.page)
        ask_until_handed_off(chat.page, QUESTION)
