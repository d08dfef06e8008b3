"""Signing in to the clinic console (/staff/), with Flask's test client against the real app."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from console.accounts import FIRST_WAIT, FREE_ATTEMPTS, StaffStore
from core.clinic import Clinic
from web.serve import PageConfig, Site, create_app

PASSWORD = "correct horse battery"
CONFIG = PageConfig(
    clinic=Clinic(name="our clinic", phone="(780) 761-3777", address="Downtown Edmonton"),
    rasa_url="http://localhost:5005", retention_days=30, privacy_url="/privacy",
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def environment() -> Iterator[None]:
    """The console applies the project's settings to the environment: undone after each test."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def staff(tmp_path: Path, clock: Clock) -> StaffStore:
    """A staff database in a temporary folder with one account, anna."""
    store = StaffStore(tmp_path / "staff.db", clock=clock)
    store.set_password("anna", PASSWORD, "test")
    return store


@pytest.fixture()
def app(staff: StaffStore) -> Flask:
    """The real web app (the page's real files and the built widget) with the console."""
    return create_app(Site(CONFIG), staff)


@pytest.fixture()
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def csrf_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, "the form has no CSRF token"
    return found.group(1)


def sign_in(client: FlaskClient, name: str = "anna", password: str = PASSWORD, **kwargs: object):  # type: ignore[no-untyped-def]
    """Post the sign-in form as a browser would (with the token of the page it was on)."""
    token = csrf_token(client.get("/staff/signin", **kwargs).get_data(as_text=True))
    return client.post(
        "/staff/signin", data={"username": name, "password": password, "csrf_token": token}, **kwargs
    )


def signed_in(client: FlaskClient) -> bool:
    """Whether the console's home page opens (rather than sending to the sign-in page)."""
    return client.get("/staff/").status_code == 200


@pytest.mark.parametrize("path", ["/staff/", "/staff", "/staff/inbox", "/staff/no/such/page?x=1"])
def test_signed_out_every_console_url_leads_to_the_sign_in_page(client: FlaskClient, path: str) -> None:
    response = client.get(path, follow_redirects=True)
    assert response.status_code == 200
    assert response.request.path == "/staff/signin"
    page = response.get_data(as_text=True)
    assert re.search(r'<label for="username">Username</label>', page)
    assert re.search(r'<label for="password">Password</label>', page)
    assert '<button type="submit">Sign in</button>' in page
    assert "Latest changes" not in page and "Sign out" not in page


def test_the_right_password_signs_in_and_comes_back_to_the_page_asked_for(
    client: FlaskClient, staff: StaffStore
) -> None:
    assert client.get("/staff/").headers["Location"] == "/staff/signin?next=/staff/"
    token = csrf_token(client.get("/staff/signin?next=/staff/").get_data(as_text=True))
    response = client.post(
        "/staff/signin?next=/staff/", data={"username": "Anna", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    home = client.get("/staff/").get_data(as_text=True)
    assert "Signed in as <strong>anna</strong>" in home and "signed in" in home
    entry = staff.audit_log()[0]
    assert (entry.who, entry.action) == ("anna", "signed in")
    assert client.get("/staff/no-such-page").status_code == 404


def test_a_wrong_password_is_refused(client: FlaskClient, staff: StaffStore) -> None:
    for name, password in (("anna", PASSWORD + "x"), ("bob", PASSWORD), ("anna", "")):
        response = sign_in(client, name, password)
        assert response.status_code in (400, 403)
        assert not signed_in(client)
    assert "Wrong username or password." in sign_in(client, "anna", "nope").get_data(as_text=True)
    assert [e.action for e in staff.audit_log()] == ["account created"]


def test_repeated_wrong_passwords_are_slowed_down_per_user(client: FlaskClient, clock: Clock) -> None:
    for _ in range(FREE_ATTEMPTS):
        assert sign_in(client, "anna", "wrong password").status_code == 403
    refused = sign_in(client, "anna", PASSWORD)  # even the right one must wait now
    assert refused.status_code == 429 and refused.headers["Retry-After"] == str(int(FIRST_WAIT))
    assert "Too many wrong passwords" in refused.get_data(as_text=True)
    assert not signed_in(client)
    other = sign_in(client, "anna", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 429  # the account waits whatever the address
    clock.now += FIRST_WAIT
    assert sign_in(client, "anna", PASSWORD).status_code == 302
    assert signed_in(client)


def test_repeated_wrong_passwords_are_slowed_down_per_address(
    client: FlaskClient, staff: StaffStore, clock: Clock
) -> None:
    staff.set_password("bob", PASSWORD, "test")
    for number in range(FREE_ATTEMPTS):
        assert sign_in(client, f"guess{number}", "wrong password").status_code == 403
    assert sign_in(client, "bob", PASSWORD).status_code == 429
    assert sign_in(client, "bob", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 302


def test_a_post_without_a_csrf_token_is_refused(client: FlaskClient, staff: StaffStore) -> None:
    response = client.post("/staff/signin", data={"username": "anna", "password": PASSWORD})
    assert response.status_code == 400 and "Nothing was changed" in response.get_data(as_text=True)
    assert not signed_in(client)
    bad = client.post("/staff/signin", data={"username": "anna", "password": PASSWORD, "csrf_token": "x"})
    assert bad.status_code == 400
    assert sign_in(client).status_code == 302
    assert client.post("/staff/signout").status_code == 400
    assert signed_in(client)
    assert client.post("/staff/no-such-action", data={"x": "1"}).status_code == 400
    assert [e.action for e in staff.audit_log()] == ["signed in", "account created"]


def test_sign_out_ends_the_session_and_is_audited(client: FlaskClient, staff: StaffStore) -> None:
    sign_in(client)
    token = csrf_token(client.get("/staff/").get_data(as_text=True))
    response = client.post("/staff/signout", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/signin"
    assert not signed_in(client)
    latest = [(e.who, e.action) for e in staff.audit_log()][:2]
    assert latest == [("anna", "signed out"), ("anna", "signed in")]


def test_session_cookie_is_httponly_samesite_and_secure_over_https(app: Flask) -> None:
    with app.test_client() as plain:
        cookie = sign_in(plain).headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/staff" in cookie
        assert "Secure" not in cookie
    with app.test_client() as secure:
        base = {"base_url": "https://localhost"}
        token = csrf_token(secure.get("/staff/signin", **base).get_data(as_text=True))
        response = secure.post(
            "/staff/signin", data={"username": "anna", "password": PASSWORD, "csrf_token": token},
            headers={"Referer": "https://localhost/staff/signin"}, **base,
        )
        assert response.status_code == 302
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_page_sets_no_cookie(client: FlaskClient) -> None:
    assert "Set-Cookie" not in client.get("/").headers


def test_a_password_reset_ends_the_sessions_of_that_account(client: FlaskClient, staff: StaffStore) -> None:
    sign_in(client)
    assert signed_in(client)
    staff.clock.now += 1  # type: ignore[attr-defined]
    staff.set_password("anna", "a brand new password", "test")
    assert not signed_in(client)


@pytest.mark.parametrize(
    "next_url, expected",
    [
        ("/staff/no-such-page", "/staff/no-such-page"),
        ("https://evil.example/staff/", "/staff/"),
        ("//evil.example/staff/", "/staff/"),
        ("/\\evil.example", "/staff/"),
        ("/privacy", "/staff/"),
    ],
)
def test_after_signing_in_only_console_pages_are_followed(
    client: FlaskClient, next_url: str, expected: str
) -> None:
    token = csrf_token(client.get("/staff/signin").get_data(as_text=True))
    response = client.post(
        "/staff/signin", query_string={"next": next_url},
        data={"username": "anna", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == expected


def test_console_pages_keep_the_sites_csp_allow_their_forms_and_are_not_cached(client: FlaskClient) -> None:
    page = client.get("/")
    assert "form-action 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-cache"
    console = client.get("/staff/signin")
    csp = console.headers["Content-Security-Policy"]
    assert "form-action 'self'" in csp and "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    assert console.headers["Cache-Control"] == "no-store"
    assert console.headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in console.get_data(as_text=True)


def test_what_was_typed_is_shown_escaped(client: FlaskClient) -> None:
    response = sign_in(client, '"><script>alert(1)</script>', "wrong password")
    page = response.get_data(as_text=True)
    assert "<script>" not in page and "&#34;&gt;&lt;script&gt;" in page
