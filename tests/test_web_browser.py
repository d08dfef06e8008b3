"""The clinic's page and its chat widget in a real browser (headless Chromium).

Drives Debian's Chromium with Playwright against the whole stack on free loopback ports
(action server, `rasa run` with the trained model and the socket.io channel, the page
server), started once per session on a copy of the project (tests/browser.py, fixtures in
tests/conftest.py). Screenshots go to build/screenshots/ (ignored by git); `make
screenshots` writes them to docs/img/ instead, to refresh the README's pictures on purpose.

Needs `make web-deps` (the widget in web/node_modules) and `make web-browser`
(/usr/bin/chromium): `make test` does both first.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Coroutine, Dict, List, Tuple
from urllib.parse import urlsplit

import pytest
import websockets
from playwright.sync_api import Browser, Page, expect

from bench.servers import serving_settings
from tests.browser import (
    CLINIC_ENV,
    DESKTOP,
    REPLY_MS,
    TEL,
    WebStack,
    assert_accessible,
    bot_says,
    open_chat,
    open_page,
    overflow,
    screenshot,
    send,
    settle,
    sign_in,
)

PHONE = {"width": 375, "height": 667}
# Types a message into the widget and submits it with script events (not input events).
SUBMIT_FROM_SCRIPT = """(text) => {
  const box = document.querySelector('#chat-widget .rw-new-message');
  Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(box, text);
  box.dispatchEvent(new Event('input', {bubbles: true}));
  box.form.dispatchEvent(new Event('submit', {bubbles: true, cancelable: true}));
}"""


def test_patient_conversation_on_desktop(browser: Browser, web_stack: WebStack) -> None:
    """Suggested question, exercise question, hand-off with tel: link, XSS, reload."""
    with open_page(browser, web_stack, DESKTOP) as watched:
        page = watched.page
        expect(page).to_have_title(re.compile("Dry Needling"))
        expect(page.locator(".brand-name")).to_have_text(CLINIC_ENV["CLINIC_NAME"])
        open_chat(page)
        bot_says(page, "virtual assistant")
        suggestions = page.locator(".rw-replies [role=button]")
        assert suggestions.count() >= 3

        # The privacy notice comes first, before the patient has typed anything.
        first = page.locator(".rw-response").first
        expect(first).to_contain_text("automated assistant")
        expect(first).to_contain_text("call 911")
        expect(first).to_contain_text("health card number")
        expect(first).to_contain_text(f"{serving_settings()['RETENTION_DAYS']} days")
        expect(first.get_by_role("link", name="How we handle your information")).to_have_attribute(
            "href", serving_settings()["PRIVACY_URL"])
        assert page.locator(".rw-client").count() == 0
        # It is in the live region that screen readers announce.
        expect(page.get_by_role("log").get_by_text("automated assistant")).to_be_visible()
        settle(page)
        page.locator(".rw-messages-container").evaluate("(log) => { log.scrollTop = 0; }")
        screenshot(page, "web-notice")

        # A suggested question, clicked.
        page.get_by_role("button", name="What is dry needling?").click()
        bot_says(page, "sterile, single-use needle")
        settle(page)

        # Typed: the exercise answer.
        send(page, "can I work out after dry needling?")
        bot_says(page, "strenuous")
        settle(page)

        # Typed: cost is not on the page -> the phone hand-off, as a working tel: link.
        send(page, "how much does it cost?")
        bot_says(page, re.escape(CLINIC_ENV["CLINIC_PHONE"]))
        settle(page)
        link = page.locator(f".rw-response a[href='{TEL}']").last
        expect(link).to_have_text(CLINIC_ENV["CLINIC_PHONE"])
        assert link.get_attribute("target") is None  # dials in place, no blank tab
        call = page.locator("#chat-widget").get_by_role(
            "link", name=f"Call {CLINIC_ENV['CLINIC_PHONE']}", exact=True
        )
        expect(call).to_have_attribute("href", TEL)
        assert call.get_attribute("target") is None
        screenshot(page, "web-desktop")

        # Typed markup is shown as text and never runs.
        payload = '<img src=x onerror="window.__xss=1;alert(1)"> <script>window.__xss=2;alert(2)</script>'
        send(page, payload)
        expect(page.locator(".rw-client").last).to_have_text(payload)
        bot_says(page, re.escape(CLINIC_ENV["CLINIC_PHONE"]))
        settle(page)
        assert page.locator("#chat-widget img[src='x'], #chat-widget script").count() == 0
        assert page.evaluate("window.__xss") is None
        assert watched.dialogs == []

        # A reload in the same tab keeps the conversation, without a second greeting.
        page.reload()
        asked = page.locator(".rw-client")
        expect(asked.filter(has_text="how much does it cost?")).to_be_visible(timeout=REPLY_MS)
        expect(asked.filter(has_text="can I work out after dry needling?")).to_be_visible()
        expect(asked.last).to_have_text(payload)
        answers = page.locator(".rw-response")
        expect(answers.filter(has_text="strenuous")).to_have_count(1)
        expect(answers.filter(has_text="I'm the clinic's virtual assistant")).to_have_count(1)
        expect(answers.filter(has_text="automated assistant")).to_have_count(1)  # no second notice
        page.wait_for_timeout(500)
        assert page.evaluate("window.__xss") is None
        assert watched.dialogs == []

        # Following the tel: link leaves the page and the chat working (the phone app takes
        # the number). Headless Chromium then holds real input events (it waits on its
        # external-protocol prompt), so the next message is submitted from script.
        send(page, "how much does it cost?")
        bot_says(page, re.escape(CLINIC_ENV["CLINIC_PHONE"]))
        settle(page)
        page.locator(f"#chat-widget a.rw-reply[href='{TEL}']").last.click()
        page.wait_for_timeout(500)
        assert page.url == web_stack.page_url
        page.evaluate(SUBMIT_FROM_SCRIPT, "what is a trigger point?")
        bot_says(page, "knot")
        assert watched.errors == []

        # The footer shows the conversation id that the tracker store keeps it under.
        session = page.evaluate("JSON.parse(sessionStorage.getItem('chat_session')).session_id")
        expect(page.locator("#conversation-id code")).to_have_text(session)
        with sqlite3.connect(web_stack.workdir / "tracker.db") as db:
            senders = {row[0] for row in db.execute("select distinct sender_id from events")}
        assert session in senders

        # Nothing was loaded from another host (no CDN, no web font).
        remote = [
            url for url in watched.requests
            if urlsplit(url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(url).hostname not in ("localhost", "127.0.0.1")
        ]
        assert remote == []


def test_phone_size_screen(browser: Browser, web_stack: WebStack) -> None:
    """375x667: the page fits the width, the chat opens full screen and answers."""
    phone = {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    with open_page(browser, web_stack, PHONE, **phone) as watched:
        page = watched.page
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width}px wide on a phone"
        expect(page.get_by_role("button", name="Open chat", exact=True)).to_be_visible(timeout=REPLY_MS)
        screenshot(page, "web-phone-page")
        open_chat(page)
        settle(page)
        box = page.locator(".rw-conversation-container").bounding_box()
        assert box is not None and box["width"] >= PHONE["width"] - 1
        screenshot(page, "web-phone")
        page.get_by_role("button", name="What is a trigger point?").tap()
        bot_says(page, "knot")
        send(page, "how much does it cost?")
        bot_says(page, re.escape(CLINIC_ENV["CLINIC_PHONE"]))
        expect(page.locator(f".rw-response a[href='{TEL}']").last).to_be_visible()


def focused(page: Page) -> Dict[str, str]:
    """The focused element's tag, role, accessible label and text."""
    return page.evaluate(
        """() => { const el = document.activeElement; return {
            tag: el.tagName.toLowerCase(), role: el.getAttribute('role') || '',
            label: el.getAttribute('aria-label') || '', text: (el.innerText || '').trim() }; }"""
    )


def tab_to(page: Page, matches: Any, key: str = "Tab", limit: int = 60) -> Dict[str, str]:
    """Press Tab (or Shift+Tab) until the focused element matches."""
    for _ in range(limit):
        page.keyboard.press(key)
        element = focused(page)
        if matches(element):
            return element
    raise AssertionError(f"{key} never reached the element; last focus: {focused(page)}")


def test_an_answer_rated_not_helpful_gets_the_phone(browser: Browser, web_stack: WebStack) -> None:
    """Two labelled buttons under the answer; "didn't help" gets the phone as a tel: link; a
    typed question still gets its answer; the rating is in the tracker store."""
    with open_page(browser, web_stack, DESKTOP) as watched:
        page = watched.page
        open_chat(page)
        send(page, "what is a trigger point?")
        bot_says(page, "knot")
        settle(page)
        expect(page.get_by_role("button", name="This answer helped", exact=True).last).to_be_visible()
        assert_accessible(page, "the rating buttons")
        page.get_by_role("button", name="This answer didn't help", exact=True).last.click()
        bot_says(page, "Sorry that didn't help")
        sorry = page.locator(".rw-response").filter(has_text="Sorry that didn't help").last
        expect(sorry.locator(f"a[href='{TEL}']")).to_have_text(CLINIC_ENV["CLINIC_PHONE"])
        settle(page)
        send(page, "can I work out after dry needling?")
        bot_says(page, "strenuous")
        assert watched.errors == []
    with sqlite3.connect(web_stack.tracker_db) as db:
        stored = [row[0] for row in db.execute("select data from events where intent_name = 'rate_answer'")]
    assert any('"value": "not_helpful"' in data for data in stored), stored


def test_console_insights_draws_its_charts(
    browser: Browser, web_stack: WebStack, staff_account: Tuple[str, str]
) -> None:
    """Signed in, the Insights page's charts are drawn by the local Chart.js under the CSP,
    and the page passes axe-core."""
    with open_page(browser, web_stack, DESKTOP) as watched:
        page = watched.page
        blocked: List[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(web_stack.page_url + "staff/insights")
        sign_in(page, *staff_account)
        expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
        page.wait_for_function(
            "() => window.Chart && [...document.querySelectorAll('.chart canvas')]"
            ".every((canvas) => Chart.getChart(canvas))"
        )
        assert page.locator(".chart canvas").count() >= 2
        assert_accessible(page, "the Insights page")
        assert watched.errors == [] and blocked == []


def test_keyboard_only(browser: Browser, web_stack: WebStack) -> None:
    """Open the chat, pick a suggestion, ask, and close it with the keyboard alone."""
    with open_page(browser, web_stack, DESKTOP) as watched:
        page = watched.page
        expect(page.get_by_role("button", name="Open chat", exact=True)).to_be_visible(timeout=REPLY_MS)
        tab_to(page, lambda el: el["label"] == "Open chat")
        page.keyboard.press("Enter")
        expect(page.get_by_role("button", name="How is it different from acupuncture?")).to_be_visible(
            timeout=REPLY_MS
        )
        settle(page)
        assert focused(page)["label"] == "Type your message"  # focus moves into the chat

        # The privacy notice's link is reached by keyboard (Shift+Tab from the message box).
        notice_link = tab_to(page, lambda el: el["text"] == "How we handle your information", key="Shift+Tab")
        assert notice_link["tag"] == "a"
        tab_to(page, lambda el: el["role"] == "button" and "acupuncture" in el["text"])
        page.keyboard.press("Enter")
        bot_says(page, "Qi")
        settle(page)
        assert focused(page)["label"] == "Type your message"

        page.keyboard.type("can I work out after dry needling?")
        page.keyboard.press("Enter")
        bot_says(page, "strenuous")
        settle(page)

        page.keyboard.press("Escape")
        expect(page.locator(".rw-conversation-container")).to_have_count(0)
        # The widget moves focus back to the launcher just after it closes (chat.js).
        expect(page.get_by_role("button", name="Open chat", exact=True)).to_be_focused()
        assert watched.dialogs == []


def test_accessible_names(browser: Browser, web_stack: WebStack) -> None:
    """The launcher is "Open chat", the message box "Type your message"."""
    with open_page(browser, web_stack, DESKTOP) as watched:
        page = watched.page
        launcher = page.get_by_role("button", name="Open chat", exact=True)
        expect(launcher).to_be_visible(timeout=REPLY_MS)
        expect(launcher).to_have_attribute("aria-expanded", "false")
        launcher.click()
        expect(page.get_by_role("textbox", name="Type your message", exact=True)).to_be_visible()
        expect(page.get_by_role("button", name="Close chat").first).to_be_visible()
        expect(page.get_by_role("log")).to_be_visible()


def in_thread(coroutine: Coroutine[Any, Any, str]) -> str:
    """Run a coroutine to the end in a thread of its own (Playwright's loop owns this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=60)


async def _socketio_connect(web_stack: WebStack, origin: str) -> str:
    """Open the socket.io WebSocket as a browser from `origin` would; the connect reply."""
    url = f"ws://127.0.0.1:{web_stack.rasa_port}/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, origin=origin, open_timeout=10) as socket:  # type: ignore[arg-type]
        opened = await asyncio.wait_for(socket.recv(), 10)
        assert str(opened).startswith("0{")  # engine.io open
        await socket.send("40")  # socket.io connect to "/"
        return str(await asyncio.wait_for(socket.recv(), 10))


def test_socketio_allows_only_the_page_origin(web_stack: WebStack) -> None:
    """WebSockets get no CORS from browsers: the channel refuses other origins itself."""
    allowed = in_thread(_socketio_connect(web_stack, f"http://localhost:{web_stack.web_port}"))
    assert allowed.startswith("40{") and "sid" in json.loads(allowed[2:])
    refused = in_thread(_socketio_connect(web_stack, "http://evil.example"))
    assert refused.startswith("44"), refused
    deadline = time.monotonic() + 5
    while "evil.example" not in web_stack.rasa_log() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "Refused a socket.io connection from origin 'http://evil.example'" in web_stack.rasa_log()


def test_page_from_another_origin_gets_no_chat(browser: Browser, web_stack: WebStack) -> None:
    """The same page served from an origin outside CORS_ORIGINS cannot reach the assistant."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{web_stack.web_port}/")  # 127.0.0.1 is not the allowed localhost
        expect(page.locator("h1")).to_have_text("Dry Needling in Downtown Edmonton")
        # the widget itself loaded and tried to connect: the server refused this origin
        assert page.evaluate("typeof window.WebChat.default") == "function"
        refusal = f"Refused a socket.io connection from origin 'http://127.0.0.1:{web_stack.web_port}'"
        deadline = time.monotonic() + 15
        while refusal not in web_stack.rasa_log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert refusal in web_stack.rasa_log()
        page.wait_for_timeout(2000)
        expect(page.get_by_role("button", name="Open chat", exact=True)).to_have_count(0)
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_axe_violations(browser: Browser, web_stack: WebStack, viewport: Dict[str, int]) -> None:
    """axe-core (WCAG 2.0-2.2 A and AA) on the page, the open chat with the privacy notice,
    after "did you mean" buttons and after a hand-off."""
    with open_page(browser, web_stack, viewport) as watched:
        page = watched.page
        expect(page.get_by_role("button", name="Open chat", exact=True)).to_be_visible(timeout=REPLY_MS)
        assert_accessible(page, "the page")
        open_chat(page)
        bot_says(page, "automated assistant")
        settle(page)
        assert_accessible(page, "the open chat with the privacy notice")
        send(page, "needles and knots?")
        bot_says(page, "Did you mean one of these")
        settle(page)
        assert page.locator(".rw-replies [role=button]").count() >= 2
        assert_accessible(page, "the did-you-mean buttons")
        send(page, "how much does it cost?")
        bot_says(page, re.escape(CLINIC_ENV["CLINIC_PHONE"]))
        settle(page)
        assert_accessible(page, "after a hand-off")


# The chat's parts that must stay inside the screen.
CHAT_PARTS = ", ".join(
    f"#chat-widget .rw-{part}"
    for part in ("conversation-container", "new-message", "send", "response", "reply", "launcher")
)


@pytest.mark.parametrize(
    "viewport",
    [{"width": 320, "height": 640}, {"width": 640, "height": 400}],
    ids=["320px-wide", "200%-zoom-of-1280x800"],
)
def test_reflow_without_horizontal_scrolling(
    browser: Browser, web_stack: WebStack, viewport: Dict[str, int]
) -> None:
    """At 320 CSS px (WCAG 1.4.10) and at 200% zoom (a 1280x800 screen shows 640x400 CSS
    px): no horizontal scrolling, and nothing of the chat is cut off at the sides."""
    with open_page(browser, web_stack, viewport) as watched:
        page = watched.page
        expect(page.get_by_role("button", name="Open chat", exact=True)).to_be_visible(timeout=REPLY_MS)
        measured = overflow(page, CHAT_PARTS)
        assert measured["scrollWidth"] <= measured["width"] and measured["outside"] == [], measured
        open_chat(page)
        send(page, "how much does it cost?")
        bot_says(page, re.escape(CLINIC_ENV["CLINIC_PHONE"]))
        settle(page)
        measured = overflow(page, CHAT_PARTS)
        assert measured["scrollWidth"] <= measured["width"] and measured["outside"] == [], measured
        expect(page.get_by_role("textbox", name="Type your message", exact=True)).to_be_in_viewport()
        expect(page.get_by_role("button", name="Send")).to_be_in_viewport()


LONGEST_MOTION = """() => Math.max(0, ...[...document.querySelectorAll('#chat-widget *')].map((el) => {
    const style = getComputedStyle(el);
    const seconds = (value) => Math.max(...value.split(',').map((part) => parseFloat(part) || 0));
    return Math.max(seconds(style.animationDuration), seconds(style.transitionDuration));
}))"""


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_reduced_motion_stops_the_chats_animations(
    browser: Browser, web_stack: WebStack, motion: str
) -> None:
    """With prefers-reduced-motion the chat neither slides nor fades (clinic.css); without
    it, the widget's own animations play (so the check can fail)."""
    with open_page(browser, web_stack, DESKTOP, reduced_motion=motion) as watched:
        page = watched.page
        open_chat(page)
        settle(page)
        longest = page.evaluate(LONGEST_MOTION)
        if motion == "reduce":
            assert longest <= 0.01, f"an animation of {longest} s plays with reduced motion"
        else:
            assert longest > 0.1
