"""The clinic console in a real browser (headless Chromium), at desktop and phone sizes.

Against the whole stack of tests/browser.py (started once per session on a copy of the
project, so what is taught here is written to the copy's data/): a patient's question
handed off in the chat reaches the Inbox and is taught from there, the sign-in keeps
signed-out visitors and forged forms out, the answer editor's faithfulness check flags
an invented claim, bad input changes nothing, and every page passes axe-core's WCAG A
and AA rules and fits a phone's width. The account is made by `make staff-user`'s code.

Screenshots (console-*.png) go where tests/browser.py says: `make screenshots` refreshes
docs/img/, which docs/retraining.md shows.
"""

from __future__ import annotations

from typing import Tuple

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from retrain.project import Project
from retrain.trainingdata import TrainingSet, faq_label
from tests.browser import (
    CLINIC_ENV,
    DESKTOP,
    REPLY_MS,
    SIZES,
    WebStack,
    assert_accessible,
    open_chat,
    open_page,
    overflow,
    screenshot,
    send,
    settle,
    sign_in,
    staff_page,
)
from tests.test_console_faqs import INVENTED, PARAPHRASE
from tests.test_console_inbox import MARKUP as MARKED_UP  # asked in the chat: the inbox shows it as text
from tests.test_console_inbox import digest

FAQ = "exercise_after"
MARKUP = "<script>alert(1)</script>"
# Asked in the chat: not on the clinic's page, so handed to the phone line.
PARKING = "do you offer parking?"
# Asked in the chat: handed off, but close to an FAQ's examples (the suggestion).
NEAR_FAQ = "do knots come back after needling"


def answer_box(page: Page) -> Locator:
    """The box of an FAQ's answer (its section is labelled "Answer" too)."""
    return page.get_by_role("textbox", name="Answer", exact=True)


def ask_until_handed_off(page: Page, question: str) -> None:
    """Ask in the chat, and wait for a new reply with the clinic's phone (the hand-off)."""
    handoffs = page.locator(".rw-response").filter(has_text=CLINIC_ENV["CLINIC_PHONE"])
    before = handoffs.count()
    send(page, question)
    expect(handoffs).to_have_count(before + 1, timeout=REPLY_MS)
    settle(page)


def group_of(page: Page, text: str) -> Locator:
    """The inbox group that shows a question containing `text`."""
    return page.locator("section.group").filter(has_text=text)


def expect_sign_in_page(page: Page) -> None:
    """The sign-in form, found the way a screen reader finds it."""
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_signed_out_every_console_url_shows_the_sign_in_page(browser: Browser, web_stack: WebStack) -> None:
    with open_page(browser, web_stack, DESKTOP, web_stack.staff_url()) as watched:
        page = watched.page
        for path in ("", "inbox", "faqs", f"faqs/{FAQ}", "faqs/new", "no/such/page"):
            page.goto(web_stack.staff_url(path))
            expect_sign_in_page(page)
            expect(page.get_by_text("Inbox")).to_have_count(0)  # nothing of the console shows
        screenshot(page, "console-signin")


def test_a_wrong_password_is_refused(
    browser: Browser, web_stack: WebStack, staff_account: Tuple[str, str]
) -> None:
    with open_page(browser, web_stack, DESKTOP, web_stack.staff_url("inbox")) as watched:
        page = watched.page
        sign_in(page, staff_account[0], "not the password at all")
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
        expect_sign_in_page(page)
        page.goto(web_stack.staff_url("inbox"))
        expect_sign_in_page(page)


def test_forms_without_their_csrf_token_are_refused_and_change_nothing(
    browser: Browser, web_stack: WebStack, staff_account: Tuple[str, str]
) -> None:
    before = digest(web_stack.root)
    with staff_page(browser, web_stack, staff_account, path=f"faqs/{FAQ}") as page:
        # A form another site could make the browser send: the session cookie, no token.
        answer = answer_box(page).input_value()
        forged = page.request.post(
            web_stack.staff_url(f"faqs/{FAQ}/answer"), form={"answer": PARAPHRASE, "action": "save"}
        )
        assert forged.status == 400 and "That form was not accepted" in forged.text()
        # The console's own form, its hidden token taken out before it is sent.
        answer_box(page).fill(PARAPHRASE)
        page.locator("form:has(#answer) input[name=csrf_token]").evaluate("(input) => input.remove()")
        page.get_by_role("button", name="Save the answer").click()
        expect(page.get_by_role("heading", name="That form was not accepted")).to_be_visible()
        expect(page.get_by_text("Nothing was changed")).to_be_visible()
        page.goto(web_stack.staff_url(f"faqs/{FAQ}"))
        expect(answer_box(page)).to_have_value(answer)
    assert digest(web_stack.root) == before


def test_a_question_handed_off_in_the_chat_is_taught_from_the_inbox(
    browser: Browser, web_stack: WebStack, staff_account: Tuple[str, str]
) -> None:
    with open_page(browser, web_stack, DESKTOP) as chat:
        open_chat(chat.page)
        for question in (MARKED_UP, NEAR_FAQ, PARKING):  # the inbox shows the newest first
            ask_until_handed_off(chat.page, question)
    before = digest(web_stack.root)
    with staff_page(browser, web_stack, staff_account, path="inbox") as page:
        expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
        parking = group_of(page, PARKING)
        expect(parking).to_have_count(1)
        # The patient's markup is shown as text, never run.
        expect(group_of(page, MARKED_UP)).to_have_count(1)
        assert page.locator("main script").count() == 0
        parking.evaluate("(group) => window.scrollTo(0, group.getBoundingClientRect().top + scrollY - 24)")
        screenshot(page, "console-inbox")

        # An FAQ name that does not exist (the list's choice altered, as a script could).
        parking.locator("select[name=faq]").evaluate(
            "(list) => { list.options[list.selectedIndex].value = 'no_such_faq'; }"
        )
        parking.get_by_role("button", name="Give to this FAQ").click()
        expect(page.get_by_role("alert")).to_contain_text("There is no FAQ or label called 'no_such_faq'")
        expect(group_of(page, PARKING)).to_have_count(1)
        assert digest(web_stack.root) == before

        # One click: the suggested FAQ is already chosen.
        near = group_of(page, NEAR_FAQ)
        choice = near.get_by_label("FAQ", exact=True)
        suggested = choice.locator("option", has_text="(suggested)")
        expect(suggested).to_have_count(1)
        faq = suggested.get_attribute("value") or ""
        expect(choice).to_have_value(faq)
        near.get_by_role("button", name="Give to this FAQ").click()
        expect(page.get_by_role("status")).to_have_text(f"Gave 1 question to {faq}.")
        expect(group_of(page, NEAR_FAQ)).to_have_count(0)
        expect(group_of(page, PARKING)).to_have_count(1)
    after = digest(web_stack.root)
    assert [name for name in after if after[name] != before[name]] == ["faq.yml"]
    examples = TrainingSet.load(Project(web_stack.root)).examples()[faq_label(faq)]
    assert NEAR_FAQ in examples


def test_the_faithfulness_check_flags_an_invented_claim_and_passes_a_paraphrase(
    browser: Browser, web_stack: WebStack, staff_account: Tuple[str, str]
) -> None:
    before = digest(web_stack.root)
    with staff_page(browser, web_stack, staff_account, path=f"faqs/{FAQ}") as page:
        answer_box(page).fill(f"{PARAPHRASE} {INVENTED}")
        page.get_by_role("button", name="Check against the page").click()
        warning = "1 sentence of this answer is not on the clinic's page"
        expect(page.get_by_role("alert")).to_contain_text(warning)
        flagged = page.locator("table.checks tr.flagged")
        expect(flagged).to_have_count(1)
        expect(flagged).to_contain_text(INVENTED)
        expect(flagged).to_contain_text("This claim is not on the clinic's page")
        expect(flagged).to_contain_text("arthritis")
        expect(page.locator("table.checks tr.supported")).to_contain_text(PARAPHRASE)
        screenshot(page.locator("section", has=answer_box(page)), "console-faq-check")

        answer_box(page).fill(PARAPHRASE)
        page.get_by_role("button", name="Check against the page").click()
        passed = "Every sentence of this answer is on the clinic's page."
        expect(page.get_by_role("status")).to_have_text(passed)
        expect(page.locator("table.checks tr.flagged")).to_have_count(0)
    assert digest(web_stack.root) == before  # checking saves nothing


def test_bad_input_gives_a_clear_message_and_changes_nothing(
    browser: Browser, web_stack: WebStack, staff_account: Tuple[str, str]
) -> None:
    before = digest(web_stack.root)
    with staff_page(browser, web_stack, staff_account, path=f"faqs/{FAQ}") as page:
        answer = answer_box(page)
        # Markup: shown as typed, escaped, never run; an answer with it is not saved.
        answer.fill(f"{PARAPHRASE} {MARKUP}")
        page.get_by_role("button", name="Save the answer").click()
        expect(page.get_by_role("alert").filter(has_text="must be plain text")).to_be_visible()
        expect(answer).to_have_value(f"{PARAPHRASE} {MARKUP}")
        assert page.locator("main script").count() == 0

        # Longer than an answer may be (the box's own limit taken off, as a script could).
        answer.evaluate("(box) => box.removeAttribute('maxlength')")
        answer.fill("needling " * 600)
        page.get_by_role("button", name="Save the answer").click()
        refusal = page.get_by_role("alert").filter(has_text="Nothing was changed")
        expect(refusal).to_contain_text("4000")

        # Far larger than any form: refused before it is read.
        page.get_by_label("New questions, one a line").evaluate(
            "(box, text) => { box.removeAttribute('maxlength'); box.value = text; }",
            "how long does it last\n" * 4000,
        )
        page.get_by_role("button", name="Add the questions").click()
        expect(page.get_by_role("heading", name="That was too long")).to_be_visible()
        expect(page.get_by_text("Nothing was changed")).to_be_visible()

        # An FAQ that does not exist, by its address.
        page.goto(web_stack.staff_url("faqs/no_such_faq"))
        expect(page.get_by_role("heading", name="No such FAQ")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("Nothing was changed")
    assert digest(web_stack.root) == before


@pytest.mark.parametrize("size", list(SIZES))
def test_console_pages_are_accessible_and_fit_the_screen(
    browser: Browser, web_stack: WebStack, staff_account: Tuple[str, str], size: str
) -> None:
    """axe-core's WCAG 2.0-2.2 A and AA rules on every console page, and on a phone no
    page scrolls sideways."""
    viewport, options = SIZES[size]

    def check(page: Page, where: str) -> None:
        assert_accessible(page, where)
        measured = overflow(page, "body *")
        assert measured["scrollWidth"] <= measured["width"], f"{where} scrolls sideways: {measured}"

    with open_page(browser, web_stack, viewport, web_stack.staff_url(), **options) as watched:
        check(watched.page, "the sign-in page")
        sign_in(watched.page, "nobody", "not a password")
        check(watched.page, "a refused sign-in")
    with staff_page(browser, web_stack, staff_account, size) as page:
        for path, where in [
            ("", "the home page"), ("inbox", "the inbox"), ("faqs", "the FAQs"),
            (f"faqs/{FAQ}", "an FAQ"), ("faqs/new", "a new FAQ"), ("faqs/no_such_faq", "an unknown FAQ"),
        ]:
            page.goto(web_stack.staff_url(path))
            check(page, where)
        page.goto(web_stack.staff_url(f"faqs/{FAQ}"))
        answer_box(page).fill(f"{PARAPHRASE} {INVENTED}")
        page.get_by_role("button", name="Check against the page").click()
        expect(page.locator("table.checks tr.flagged")).to_have_count(1)
        check(page, "an FAQ with the faithfulness warning")
