"""The browser tests' shared machinery: the whole stack on a copy of the project, headless
Chromium, and what the tests do with pages (chat, sign in, axe-core, screenshots).

The stack (action server, `rasa run` with the trained model and the socket.io channel, the
page server with the staff console) runs from a throw-away copy of the project
(retrain/sandbox.py) on free loopback ports, so whatever the tests teach through the
console is written to the copy's data/, never to this project's. tests/conftest.py makes
fixtures of it (`web_stack`, `browser`, `staff_account`), started once per test session.
The Rasa server has its HTTP API on with a token of the stack's, and every server gets the
stack's ports and token, so a retrain started from the console reaches this Rasa server.

Screenshots go to build/screenshots/ (ignored by git); `make screenshots` writes them to
docs/img/ instead, to refresh the docs' pictures on purpose.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from bench.servers import action_server_command, free_port, serving_settings, stop_process, wait_for
from core.clinic import phone_to_tel_uri
from core.settings import MODEL_FILE, PROJECT
from retrain.sandbox import copy_project

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
# The console's sizes: a desktop screen and a phone's (viewport, browser context options).
SIZES: Dict[str, Tuple[Dict[str, int], Dict[str, Any]]] = {
    "desktop": (DESKTOP, {}),
    "phone": (
        {"width": 390, "height": 844}, {"is_mobile": True, "has_touch": True, "device_scale_factor": 2}
    ),
}
# Long enough for the first reply (TensorFlow warms up on the first message).
REPLY_MS = 30_000


def require_installed() -> None:
    """Fail (not skip) without Chromium, the widget or axe-core: `make test` installs them."""
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
    action_port: int
    workdir: Path
    root: Path
    # RASA_API_TOKEN: the Rasa server takes a new model (PUT /model) only with it.
    token: str = ""
    # Settings that differ from those `make run` serves with (SANIC_WORKERS=1, ...).
    overrides: Dict[str, str] = field(default_factory=dict)

    @property
    def page_url(self) -> str:
        """The page at the origin the Rasa server allows."""
        return f"http://localhost:{self.web_port}/"

    @property
    def rasa_url(self) -> str:
        """The Rasa server's base URL."""
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def staff_db(self) -> Path:
        """The console's accounts and audit log (STAFF_DB of the page server)."""
        return self.workdir / "staff.db"

    @property
    def tracker_db(self) -> Path:
        """The conversations (TRACKER_DB of the Rasa server and the console)."""
        return self.workdir / "tracker.db"

    def staff_url(self, path: str = "") -> str:
        """A console page: staff_url("inbox") is http://localhost:<port>/staff/inbox."""
        return f"{self.page_url}staff/{path}"

    def env(self) -> Dict[str, str]:
        """The environment the servers run with (and a command run against them needs)."""
        origin = f"http://localhost:{self.web_port}"
        return {
            **os.environ,
            **CLINIC_ENV,
            **serving_settings(),  # several workers, as `make run`: the widget must cope
            "ACTION_PORT": str(self.action_port),
            "RASA_HOST": "127.0.0.1",
            "RASA_PORT": str(self.rasa_port),
            "RASA_API_TOKEN": self.token,
            "TRACKER_DB": str(self.tracker_db),
            "STAFF_DB": str(self.staff_db),
            "CORS_ORIGINS": origin,
            "RASA_PUBLIC_URL": f"http://localhost:{self.rasa_port}",
            **self.overrides,
        }

    def log(self, name: str) -> str:
        """What a server logged so far: "rasa", "actions" or "web"."""
        return (self.workdir / f"{name}.log").read_text("utf-8", errors="replace")

    def rasa_log(self) -> str:
        """What the Rasa server logged so far."""
        return self.log("rasa")


@contextlib.contextmanager
def running_stack(workdir: Path, overrides: Optional[Dict[str, str]] = None) -> Iterator[WebStack]:
    """Action server, Rasa server (socket.io, CORS allowlist = the page, the HTTP API with
    the stack's token) and page server, all from a copy of the project in `workdir`, with
    `make run`'s settings but `overrides`; stopped at the end."""
    root = copy_project(PROJECT, workdir / "project")
    stack = WebStack(free_port(), free_port(), free_port(), workdir, root, secrets.token_hex(16),
                     dict(overrides or {}))
    env = stack.env()
    rasa, python = str(BIN / "rasa"), str(BIN / "python")
    commands = {
        "actions": action_server_command(stack.action_port),
        "rasa": [
            rasa, "run", "--model", str(root / MODEL_FILE), "--endpoints", "endpoints.yml",
            "--credentials", "credentials.yml", "-i", "127.0.0.1", "--port", str(stack.rasa_port),
            "--cors", env["CORS_ORIGINS"], "--enable-api", "--auth-token", stack.token,
        ],
        "web": [python, "-m", "web.serve", "--host", "127.0.0.1", "--port", str(stack.web_port)],
    }
    processes: Dict[str, subprocess.Popen] = {}
    with contextlib.ExitStack() as logs:
        try:
            for name, command in commands.items():
                log = logs.enter_context(open(workdir / f"{name}.log", "w"))
                processes[name] = subprocess.Popen(
                    command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            wait_for(f"http://127.0.0.1:{stack.web_port}/", 30, processes["web"])
            wait_for(f"http://127.0.0.1:{stack.action_port}/health", 120, processes["actions"])
            wait_for(f"http://127.0.0.1:{stack.rasa_port}/", 240, processes["rasa"])
            yield stack
        finally:
            for process in reversed(processes.values()):
                stop_process(process)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (no browser is downloaded)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def create_staff_account(stack: WebStack, name: str, password: str) -> None:
    """A console account, made by the code of `make staff-user` in the stack's STAFF_DB."""
    done = subprocess.run(
        [str(BIN / "python"), "-m", "console.users", "--", name], input=password + "\n", text=True,
        cwd=stack.root, env=stack.env(), capture_output=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr


@dataclass
class Watched:
    """A page with what it did that a test must not miss."""

    page: Page
    dialogs: List[str]
    requests: List[str]
    errors: List[str]


@contextlib.contextmanager
def open_page(
    browser: Browser, stack: WebStack, viewport: Dict[str, int], url: str = "", **options: Any
) -> Iterator[Watched]:
    """A fresh browser context (fresh storage) on `url` (the page by default), recording
    dialogs, requests and script errors."""
    context: BrowserContext = browser.new_context(viewport=viewport, **options)
    try:
        page = context.new_page()
        watched = Watched(page, [], [], [])
        page.on("dialog", lambda dialog: (watched.dialogs.append(dialog.message), dialog.dismiss()))
        page.on("request", lambda request: watched.requests.append(request.url))
        page.on("pageerror", lambda error: watched.errors.append(str(error)))
        page.goto(url or stack.page_url)
        yield watched
    finally:
        context.close()


def sign_in(page: Page, name: str, password: str) -> None:
    """Fill in the console's sign-in form (the page must show it) and submit it."""
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


@contextlib.contextmanager
def staff_page(
    browser: Browser, stack: WebStack, account: Tuple[str, str], size: str = "desktop", path: str = ""
) -> Iterator[Page]:
    """A fresh browser signed in to the console at one of SIZES, on `path` (the home page
    by default); at the end, no dialog opened and no script failed."""
    viewport, options = SIZES[size]
    with open_page(browser, stack, viewport, stack.staff_url(path), **options) as watched:
        sign_in(watched.page, *account)
        expect(watched.page.get_by_role("button", name="Sign out")).to_be_visible()
        yield watched.page
        assert watched.dialogs == [] and watched.errors == []


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


def overflow(page: Page, selector: str) -> Dict[str, Any]:
    """How wide the page scrolls against the window's width, and the elements matching
    `selector` that reach outside the window at either side."""
    return page.evaluate(
        """(selector) => {
          const width = document.documentElement.clientWidth;
          const outside = [...document.querySelectorAll(selector)]
            .filter((el) => { const box = el.getBoundingClientRect();
                              return box.width > 0 && (box.left < -1 || box.right > width + 1); })
            .map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : ''));
          return {scrollWidth: document.documentElement.scrollWidth, width, outside};
        }""",
        selector,
    )


def screenshot(shown: Union[Page, Locator], name: str) -> None:
    """Save a screenshot of a page (what the window shows) or of one element as
    SCREENSHOTS/<name>.png (the docs' pictures via `make screenshots`)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shown.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")
