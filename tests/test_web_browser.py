"""The clinic's page and its chat widget in a real browser (headless Chromium).

Starts the whole stack on free loopback ports (action server, `rasa run` with the trained
model and the socket.io channel, the page server) and drives Debian's Chromium with
Playwright. Screenshots go to build/screenshots/ (ignored by git); `make screenshots`
writes them to docs/img/ instead, to refresh the README's pictures on purpose.

Needs `make web-deps` (the widget in web/node_modules) and `make web-browser`
(/usr/bin/chromium): `make test` does both first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Coroutine, Dict, Iterator, List
from urllib.parse import urlsplit

import pytest
import websockets
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from bench.servers import action_server_command, free_port, serving_settings, stop_process, wait_for
from core.clinic import phone_to_tel_uri
from tests.conftest import MODEL, PROJECT

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
WIDGET_JS = PROJECT / "web" / "build" / "rasa-webchat.js"
# axe-core, pinned in web/package.json (devDependencies), installed by `make web-deps`.
AXE_JS = PROJECT / "web" / "node_modules" / "axe-core" / "axe.min.js"
# The WCAG 2.0-2.2 A and AA rules.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR", PROJECT / "build" / "screenshots"))
BIN = Path(sys.executable).parent
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CLINIC_ENV = {
    "CLINIC_NAME": "Example Physio (demo)",
    "CLINIC_PHONE": "(780) 761-3777",
    "CLINIC_ADDRESS": "123 Example Street, Edmonton",
}
TEL = phone_to_tel_uri(CLINIC_ENV["CLINIC_PHONE"])
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 375, "height": 667}
# Types a message into the widget and submits it with script events (not input events).
SUBMIT_FROM_SCRIPT = """(text) => {
  const box = document.querySelector('#chat-widget .rw-new-message');
  Object.getOwnPropertyDescriptor(HTMLTextAreaElement.prototype, 'value').set.call(box, text);
  box.dispatchEvent(new Event('input', {bubbles: true}));
  box.form.dispatchEvent(new Event('submit', {bubbles: true, cancelable: true}));
}"""
# Long enough for the first reply (TensorFlow warms up on the first message).
REPLY_MS = 30_000



@pytest.fixture(scope="module", autouse=True)
def browser_and_widget_installed() -> None:
    """Fail (not skip) without Chromium or the widget: `make test` installs both."""
    missing = [str(path) for path in (CHROMIUM, WIDGET_JS, AXE_JS) if not path.exists()]
    if missing:
        pytest.fail(
            f"missing {', '.join(missing)}: run `make web-deps web-browser` (make test does)",
            pytrace=False,
        )


@dataclass
class WebStack:
    """The running servers, as a browser on this machine reaches them."""

    rasa_port: int
    web_port: int
    workdir: Path

    @property
    def page_url(self) -> str:
        """The page at the origin the Rasa server allows."""
        return f"http://localhost:{self.web_port}/"

    @property
    def rasa_url(self) -> str:
        """The Rasa server's base URL."""
        return f"http://127.0.0.1:{self.rasa_port}"

    def rasa_log(self) -> str:
        """What the Rasa server logged so far."""
        return (self.workdir / "rasa.log").read_text("utf-8", errors="replace")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStack]:
    """Action server, Rasa server (socket.io, CORS allowlist = the page) and page server."""
    workdir = tmp_path_factory.mktemp("web-stack")
    rasa_port, action_port, web_port = free_port(), free_port(), free_port()
    origin = f"http://localhost:{web_port}"
    env = {
        **os.environ,
        **CLINIC_ENV,
        **serving_settings(),  # several workers, as `make run`: the widget must cope
        "ACTION_PORT": str(action_port),
        "RASA_PORT": str(rasa_port),
        "TRACKER_DB": str(workdir / "tracker.db"),
        "STAFF_DB": str(workdir / "staff.db"),
        "CORS_ORIGINS": origin,
        "RASA_PUBLIC_URL": f"http://localhost:{rasa_port}",
    }
    rasa, python = str(BIN / "rasa"), str(BIN / "python")
    commands = {
        "actions.log": action_server_command(action_port),
        "rasa.log": [
            rasa, "run", "--model", str(MODEL), "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml", "-i", "127.0.0.1", "--port", str(rasa_port),
            "--cors", origin,
        ],
        "web.log": [python, "-m", "web.serve", "--host", "127.0.0.1", "--port", str(web_port)],
    }
    processes: List[subprocess.Popen] = []
    logs = []
    try:
        for name, command in commands.items():
            log = open(workdir / name, "w")
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        wait_for(f"http://127.0.0.1:{web_port}/", 30, processes[2])
        wait_for(f"http://127.0.0.1:{action_port}/health", 120, processes[0])
        wait_for(f"http://127.0.0.1:{rasa_port}/", 240, processes[1])
        yield WebStack(rasa_port, web_port, workdir)
    finally:
        for process in reversed(processes):
            stop_process(process)
        for log in logs:
            log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (no browser is downloaded)."""
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Watched:
    """A page with what it did that a test must not miss."""

    page: Page
    dialogs: List[str]
    requests: List[str]
    errors: List[str]


@contextlib.contextmanager
def open_page(
    browser: Browser, stack: WebStack, viewport: Dict[str, int], **options: Any
) -> Iterator[Watched]:
    """A fresh browser context (fresh storage) on the page, recording dialogs and requests."""
    context: BrowserContext = browser.new_context(viewport=viewport, **options)
    try:
        page = context.new_page()
        watched = Watched(page, [], [], [])
        page.on("dialog", lambda dialog: (watched.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: watched.requests.append(request.url))
        page.on("pageerror", lambda error: watched.errors.append(str(error)))
        page.goto(stack.page_url)
        yield watched
    finally:
        context.close()


def open_chat(page: Page) -> None:
    """Click the launcher and wait for the greeting's suggested questions."""
    page.get_by_role("button", name="Open chat", exact=True).click(timeout=REPLY_MS)
    expect(page.get_by_role("button", name="What is dry needling?")).to_be_visible(timeout=REPLY_MS)


def send(page: Page, text: str) -> None:
    """Type a message in the widget and press Enter."""
    box = page.get_by_role("textbox", name="Type your message", exact=True)
    box.fill(text)
    box.press("Enter")


def bot_says(page: Page, pattern: str) -> None:
    """Wait until a bot bubble matches the pattern (case-insensitive)."""
    bubble = page.locator(".rw-response").filter(has_text=re.compile(pattern, re.IGNORECASE))
    expect(bubble.last).to_be_visible(timeout=REPLY_MS)


def settle(page: Page) -> None:
    """Wait until the widget shows no typing indicator (the replies have all arrived)."""
    expect(page.locator(".rw-typing-indication")).to_have_count(0, timeout=REPLY_MS)


def axe_violations(page: Page) -> List[str]:
    """What axe-core finds against the WCAG A and AA rules, one line per element.

    Evaluated through Playwright, which the page's Content-Security-Policy does not stop."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text("utf-8"))
    results = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        f"{violation['id']} ({violation['impact']}): {node['target']} {node['failureSummary']}"
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


def assert_accessible(page: Page, where: str) -> None:
    """No axe-core violation at all."""
    found = axe_violations(page)
    assert found == [], f"{where}:\n" + "\n".join(found)


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot as SCREENSHOTS/<name>.png (the README's pictures via `make screenshots`)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")


def test_patient_conversation_on_desktop(browser: Browser, stack: WebStack) -> None:
    """Suggested question, exercise question, hand-off with tel: link, XSS, reload."""
    with open_page(browser, stack, DESKTOP) as watched:
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
        assert page.url == stack.page_url
        page.evaluate(SUBMIT_FROM_SCRIPT, "what is a trigger point?")
        bot_says(page, "knot")
        assert watched.errors == []

        # The footer shows the conversation id that the tracker store keeps it under.
        session = page.evaluate("JSON.parse(sessionStorage.getItem('chat_session')).session_id")
        expect(page.locator("#conversation-id code")).to_have_text(session)
        with sqlite3.connect(stack.workdir / "tracker.db") as db:
            senders = {row[0] for row in db.execute("select distinct sender_id from events")}
        assert session in senders

        # Nothing was loaded from another host (no CDN, no web font).
        remote = [
            url for url in watched.requests
            if urlsplit(url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(url).hostname not in ("localhost", "127.0.0.1")
        ]
        assert remote == []


def test_phone_size_screen(browser: Browser, stack: WebStack) -> None:
    """375x667: the page fits the width, the chat opens full screen and answers."""
    with open_page(browser, stack, PHONE, is_mobile=True, has_touch=True, device_scale_factor=2) as watched:
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


def test_an_answer_rated_not_helpful_gets_the_phone(browser: Browser, stack: WebStack) -> None:
    """Two labelled buttons under the answer; "didn't help" gets the phone as a tel: link; a
    typed question still gets its answer; the rating is in the tracker store."""
    with open_page(browser, stack, DESKTOP) as watched:
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
    with sqlite3.connect(stack.workdir / "tracker.db") as db:
        stored = [row[0] for row in db.execute("select data from events where intent_name = 'rate_answer'")]
    assert any('"value": "not_helpful"' in data for data in stored), stored


def test_console_insights_draws_its_charts(browser: Browser, stack: WebStack) -> None:
    """Signed in, the Insights page's charts are drawn by the local Chart.js under the CSP,
    and the page passes axe-core."""
    from console.accounts import StaffStore

    StaffStore(stack.workdir / "staff.db").set_password("anna", "correct horse battery", "test")
    with open_page(browser, stack, DESKTOP) as watched:
        page = watched.page
        blocked: List[str] = []
        page.on("console", lambda m: blocked.append(m.text) if "Content Security Policy" in m.text else None)
        page.goto(stack.page_url + "staff/insights")
        page.get_by_label("Username").fill("anna")
        page.get_by_label("Password").fill("correct horse battery")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Insights", exact=True)).to_be_visible()
        page.wait_for_function(
            "() => window.Chart && [...document.querySelectorAll('.chart canvas')]"
            ".every((canvas) => Chart.getChart(canvas))"
        )
        assert page.locator(".chart canvas").count() >= 2
        assert_accessible(page, "the Insights page")
        assert watched.errors == [] and blocked == []


def test_keyboard_only(browser: Browser, stack: WebStack) -> None:
    """Open the chat, pick a suggestion, ask, and close it with the keyboard alone."""
    with open_page(browser, stack, DESKTOP) as watched:
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


def test_accessible_names(browser: Browser, stack: WebStack) -> None:
    """The launcher is "Open chat", the message box "Type your message"."""
    with open_page(browser, stack, DESKTOP) as watched:
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


async def _socketio_connect(stack: WebStack, origin: str) -> str:
    """Open the socket.io WebSocket as a browser from `origin` would; the connect reply."""
    url = f"ws://127.0.0.1:{stack.rasa_port}/socket.io/?EIO=4&transport=websocket"
    async with websockets.connect(url, origin=origin, open_timeout=10) as socket:  # type: ignore[arg-type]
        opened = await asyncio.wait_for(socket.recv(), 10)
        assert str(opened).startswith("0{")  # engine.io open
        await socket.send("40")  # socket.io connect to "/"
        return str(await asyncio.wait_for(socket.recv(), 10))


def test_socketio_allows_only_the_page_origin(stack: WebStack) -> None:
    """WebSockets get no CORS from browsers: the channel refuses other origins itself."""
    allowed = in_thread(_socketio_connect(stack, f"http://localhost:{stack.web_port}"))
    assert allowed.startswith("40{") and "sid" in json.loads(allowed[2:])
    refused = in_thread(_socketio_connect(stack, "http://evil.example"))
    assert refused.startswith("44"), refused
    deadline = time.monotonic() + 5
    while "evil.example" not in stack.rasa_log() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "Refused a socket.io connection from origin 'http://evil.example'" in stack.rasa_log()


def test_page_from_another_origin_gets_no_chat(browser: Browser, stack: WebStack) -> None:
    """The same page served from an origin outside CORS_ORIGINS cannot reach the assistant."""
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{stack.web_port}/")  # 127.0.0.1 is not the allowed localhost
        expect(page.locator("h1")).to_have_text("Dry Needling in Downtown Edmonton")
        # the widget itself loaded and tried to connect: the server refused this origin
        assert page.evaluate("typeof window.WebChat.default") == "function"
        refusal = f"Refused a socket.io connection from origin 'http://127.0.0.1:{stack.web_port}'"
        deadline = time.monotonic() + 15
        while refusal not in stack.rasa_log() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert refusal in stack.rasa_log()
        page.wait_for_timeout(2000)
        expect(page.get_by_role("button", name="Open chat", exact=True)).to_have_count(0)
    finally:
        context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_no_axe_violations(browser: Browser, stack: WebStack, viewport: Dict[str, int]) -> None:
    """axe-core (WCAG 2.0-2.2 A and AA) on the page, the open chat with the privacy notice,
    after "did you mean" buttons and after a hand-off."""
    with open_page(browser, stack, viewport) as watched:
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


def overflow(page: Page) -> Dict[str, Any]:
    """How wide the page scrolls, and the chat's parts that reach outside the viewport."""
    return page.evaluate(
        """() => {
          const width = document.documentElement.clientWidth;
          const outside = [...document.querySelectorAll(
              '#chat-widget .rw-conversation-container, #chat-widget .rw-new-message, ' +
              '#chat-widget .rw-send, #chat-widget .rw-response, #chat-widget .rw-reply, ' +
              '#chat-widget .rw-launcher')]
            .filter((el) => { const box = el.getBoundingClientRect();
                              return box.width > 0 && (box.left < -1 || box.right > width + 1); })
            .map((el) => el.className);
          return {scrollWidth: document.documentElement.scrollWidth, width, outside};
        }"""
    )


@pytest.mark.parametrize(
    "viewport",
    [{"width": 320, "height": 640}, {"width": 640, "height": 400}],
    ids=["320px-wide", "200%-zoom-of-1280x800"],
)
def test_reflow_without_horizontal_scrolling(
    browser: Browser, stack: WebStack, viewport: Dict[str, int]
) -> None:
    """At 320 CSS px (WCAG 1.4.10) and at 200% zoom (a 1280x800 screen shows 640x400 CSS
    px): no horizontal scrolling, and nothing of the chat is cut off at the sides."""
    with open_page(browser, stack, viewport) as watched:
        page = watched.page
        expect(page.get_by_role("button", name="Open chat", exact=True)).to_be_visible(timeout=REPLY_MS)
        measured = overflow(page)
        assert measured["scrollWidth"] <= measured["width"] and measured["outside"] == [], measured
        open_chat(page)
        send(page, "how much does it cost?")
        bot_says(page, re.escape(CLINIC_ENV["CLINIC_PHONE"]))
        settle(page)
        measured = overflow(page)
        assert measured["scrollWidth"] <= measured["width"] and measured["outside"] == [], measured
        expect(page.get_by_role("textbox", name="Type your message", exact=True)).to_be_in_viewport()
        expect(page.get_by_role("button", name="Send")).to_be_in_viewport()


LONGEST_MOTION = """() => Math.max(0, ...[...document.querySelectorAll('#chat-widget *')].map((el) => {
    const style = getComputedStyle(el);
    const seconds = (value) => Math.max(...value.split(',').map((part) => parseFloat(part) || 0));
    return Math.max(seconds(style.animationDuration), seconds(style.transitionDuration));
}))"""


@pytest.mark.parametrize("motion", ["no-preference", "reduce"])
def test_reduced_motion_stops_the_chats_animations(browser: Browser, stack: WebStack, motion: str) -> None:
    """With prefers-reduced-motion the chat neither slides nor fades (clinic.css); without
    it, the widget's own animations play (so the check can fail)."""
    with open_page(browser, stack, DESKTOP, reduced_motion=motion) as watched:
        page = watched.page
        open_chat(page)
        settle(page)
        longest = page.evaluate(LONGEST_MOTION)
        if motion == "reduce":
            assert longest <= 0.01, f"an animation of {longest} s plays with reduced motion"
        else:
            assert longest > 0.1
