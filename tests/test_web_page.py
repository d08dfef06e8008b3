"""Fast checks of the clinic page's server (web/serve.py) and socket.io channel (no browser)."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import os
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from email.message import Message
from pathlib import Path
from typing import Dict, Iterator, Tuple

import pytest
from waitress.server import BaseWSGIServer

from bench.servers import free_port, wait_for
from channels.socketio import SocketIOChannel, parse_origins, quick_reply
from console.accounts import StaffStore
from core.clinic import Clinic
from tests.conftest import PROJECT
from web.serve import (
    WIDGET_JS,
    PageConfig,
    Site,
    config_script,
    content_security_policy,
    make_server,
    render_page,
)
from web.widget import (
    SOCKETIO_OPTIONS,
    SOCKETIO_WEBSOCKET_ONLY,
    SOURCE,
    WIDGET_VERSION,
    WidgetError,
    build,
    local_widget,
)

CLINIC = Clinic(name="Needle & <Co>", phone="(780) 761-3777", address='10 "Main" St')
CONFIG = PageConfig(
    clinic=CLINIC, rasa_url="http://localhost:5005", retention_days=21, privacy_url="/privacy"
)


@pytest.fixture()
def site(tmp_path: Path) -> Site:
    """A site with a small page template and a stand-in built widget bundle."""
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text(
        "<h1>{{clinic_name}}</h1><a href='{{clinic_tel}}'>{{clinic_phone}}</a>"
        "<p>{{clinic_address}}</p>",
        "utf-8",
    )
    (static / "privacy.html").write_text("<p>Kept {{retention_days}} days.</p>", "utf-8")
    (static / "clinic.css").write_text("body { color: black }", "utf-8")
    (static / "notes.txt").write_text("not served", "utf-8")
    widget = tmp_path / "rasa-webchat.js"  # as `make web-deps` builds it
    widget.write_bytes(local_widget(b'x="@import url(https://fonts.example/css?f=Inter);";var WebChat={};'
                                    + SOCKETIO_OPTIONS))
    return Site(CONFIG, static_dir=static, widget_js=widget)


@contextlib.contextmanager
def running(httpd: BaseWSGIServer) -> Iterator[str]:
    """Serve in a thread until the block ends; yields the base URL."""
    closed = threading.Event()

    def serve() -> None:
        try:
            httpd.run()
        except OSError:  # its socket closed under the loop: the way a waitress server stops
            if not closed.is_set():
                raise

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.effective_port}"
    finally:
        closed.set()
        httpd.close()
        thread.join(timeout=5)


@pytest.fixture()
def server(site: Site) -> Iterator[str]:
    """The site served by waitress on a free port of 127.0.0.1; yields its base URL."""
    with running(make_server("127.0.0.1", 0, site)) as base:
        yield base


def fetch(url: str, headers: Dict[str, str] | None = None) -> Tuple[int, Message, bytes]:
    """GET a URL: status, headers (names case-insensitive, as in HTTP), body (HTTP errors included)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_page_fills_in_the_clinic_escaped() -> None:
    page = render_page(
        "{{clinic_name}}|{{clinic_phone}}|{{clinic_tel}}|{{clinic_address}}", CONFIG
    )
    assert page == (
        "Needle &amp; &lt;Co&gt;|(780) 761-3777|tel:+17807613777|10 &quot;Main&quot; St"
    )


def test_real_page_template_has_every_placeholder_filled() -> None:
    template = (PROJECT / "web" / "static" / "index.html").read_text("utf-8")
    page = render_page(template, CONFIG)
    assert "{{" not in page and "}}" not in page
    assert 'href="tel:+17807613777"' in page
    assert "Dry Needling in Downtown Edmonton" in page
    assert "Can You Exercise After Dry Needling?" in page
    assert '<a href="/privacy">Privacy: what the chat keeps</a>' in page


def test_real_privacy_page_says_how_long_and_how_to_delete() -> None:
    """The default PRIVACY_URL: what is kept, RETENTION_DAYS, masking, deletion by phone."""
    page = render_page((PROJECT / "web" / "static" / "privacy.html").read_text("utf-8"), CONFIG)
    assert "{{" not in page and "}}" not in page
    assert "deleted 21 days after their last message" in page
    assert "<code>[phone]</code>" in page and 'href="tel:+17807613777"' in page


def test_config_script_cannot_break_out_of_a_script() -> None:
    config = PageConfig(
        clinic=Clinic(name="</script><script>alert(1)</script>", phone="1", address="a"),
        rasa_url="http://localhost:5005", retention_days=30, privacy_url="/privacy",
    )
    script = config_script(config)
    assert "</script>" not in script and "<" not in script
    assert script.startswith("window.CLINIC_CHAT = Object.freeze(")


def test_rasa_url_defaults_to_localhost_and_rasa_port() -> None:
    assert PageConfig.from_env({"RASA_PORT": "5123"}).rasa_url == "http://localhost:5123"
    assert PageConfig.from_env({}).rasa_url == "http://localhost:5005"
    public = PageConfig.from_env({"RASA_PUBLIC_URL": "https://chat.example.org/"})
    assert public.rasa_url == "https://chat.example.org"
    with pytest.raises(ValueError):
        PageConfig.from_env({"RASA_PUBLIC_URL": "javascript:alert(1)"})


def test_csp_runs_only_own_scripts_and_connects_only_to_rasa() -> None:
    csp = content_security_policy(CONFIG)
    assert "script-src 'self';" in csp
    assert "connect-src 'self' http://localhost:5005 ws://localhost:5005;" in csp
    assert "unsafe-eval" not in csp


def test_widget_loses_its_remote_font_import() -> None:
    bundle = b'a="@import url(https://fonts.googleapis.com/css?family=Inter:400&display=swap);"'
    assert local_widget(bundle + SOCKETIO_OPTIONS) == b'a=""' + SOCKETIO_WEBSOCKET_ONLY


def test_the_served_widget_is_the_pinned_one_on_websocket_only() -> None:
    """Built by `make web-deps`: any of the Rasa server's workers can hold the connection."""
    served = WIDGET_JS.read_bytes()
    assert served == local_widget(SOURCE.read_bytes())
    assert served.count(b'transports:["websocket"]') == 2 and SOCKETIO_OPTIONS not in served


def test_an_unknown_widget_bundle_is_refused() -> None:
    with pytest.raises(WidgetError, match="socket.io options"):
        local_widget(b"var WebChat={};")


def test_another_widget_version_is_refused_at_install(tmp_path: Path) -> None:
    """The build checks the version its changes were written for."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "index.js").write_bytes(SOCKETIO_OPTIONS)
    (tmp_path / "package.json").write_text('{"version": "1.0.2"}', encoding="utf-8")
    with pytest.raises(WidgetError, match="1.0.2"):
        build(tmp_path, tmp_path / "out.js")
    (tmp_path / "package.json").write_text(f'{{"version": "{WIDGET_VERSION}"}}', encoding="utf-8")
    assert build(tmp_path, tmp_path / "out.js").read_bytes() == SOCKETIO_WEBSOCKET_ONLY


def test_server_serves_the_page_config_widget_and_static_files(server: str) -> None:
    status, headers, body = fetch(server + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b"Needle &amp; &lt;Co&gt;" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"

    status, _, body = fetch(server + "/config.js")
    assert status == 200 and b'"rasaUrl": "http://localhost:5005"' in body

    status, _, body = fetch(server + "/vendor/rasa-webchat.js")
    assert status == 200 and b"var WebChat" in body and b"@import" not in body
    assert SOCKETIO_WEBSOCKET_ONLY in body

    status, _, body = fetch(server + "/static/clinic.css")
    assert status == 200 and body == b"body { color: black }"

    status, headers, body = fetch(server + "/privacy")
    assert status == 200 and body == b"<p>Kept 21 days.</p>"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert fetch(server + "/static/privacy.html")[0] == 404  # the template itself is not served


def test_server_serves_nothing_else(server: str) -> None:
    for path in (
        "/static/notes.txt",
        "/static/../serve.py",
        "/static/%2e%2e/serve.py",
        "/../web/serve.py",
        "/node_modules/rasa-webchat/package.json",
        "/static/",
        "/serve.py",
    ):
        status, _, _ = fetch(server + path)
        assert status == 404, path


def test_server_gzips_and_revalidates(server: str) -> None:
    status, headers, body = fetch(server + "/", {"Accept-Encoding": "gzip"})
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert b"Needle" in gzip.decompress(body)
    status, _, body = fetch(server + "/", {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""


def test_origins_parse_like_the_cors_option() -> None:
    assert parse_origins("http://localhost:8080  https://clinic.example/") == [
        "http://localhost:8080",
        "https://clinic.example",
    ]
    assert parse_origins("a,b") == ["a", "b"]
    assert parse_origins(["http://x"]) == ["http://x"]
    assert parse_origins("") == []


def test_channel_takes_its_allowlist_from_cors_origins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "http://localhost:8080 http://localhost:9090")
    channel = SocketIOChannel.from_credentials({"session_persistence": True})
    assert isinstance(channel, SocketIOChannel)
    assert channel.session_persistence is True
    assert channel.cors_allowed_origins == ["http://localhost:8080", "http://localhost:9090"]

    def allowed(origin: str | None) -> bool:
        environ = {"HTTP_HOST": "localhost:5005", "wsgi.url_scheme": "http"}
        if origin is not None:
            environ["HTTP_ORIGIN"] = origin
        return channel.origin_allowed(environ)

    assert allowed("http://localhost:8080")
    assert allowed("http://localhost:9090")
    assert allowed(None)  # not a browser
    assert allowed("http://localhost:5005")  # same origin
    assert not allowed("http://evil.example")
    assert not allowed("http://localhost:8081")


def test_channel_credentials_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CORS_ORIGINS", "http://localhost:8080")
    channel = SocketIOChannel.from_credentials(
        {"cors_allowed_origins": ["https://clinic.example"]}
    )
    assert isinstance(channel, SocketIOChannel)
    assert channel.cors_allowed_origins == ["https://clinic.example"]


def test_link_buttons_stay_links_and_others_stay_replies() -> None:
    call = quick_reply(
        {"title": "Call", "payload": "tel:+17807613777", "type": "web_url", "url": "tel:+17807613777"}
    )
    assert call["type"] == "web_url" and call["url"] == "tel:+17807613777"
    plain = quick_reply({"title": "What is a trigger point?", "payload": "What is a trigger point?"})
    assert plain == {
        "content_type": "text",
        "title": "What is a trigger point?",
        "payload": "What is a trigger point?",
    }
    sneaky = quick_reply(
        {"title": "x", "payload": "x", "type": "web_url", "url": "javascript:alert(1)"}
    )
    assert "url" not in sneaky and "type" not in sneaky


def test_server_answers_head_and_refuses_other_methods(server: str) -> None:
    head = urllib.request.Request(server + "/config.js", method="HEAD")
    with urllib.request.urlopen(head, timeout=5) as response:
        assert response.status == 200 and response.read() == b""
        assert int(response.headers["Content-Length"]) > 0
    post = urllib.request.Request(server + "/", data=b"x=1", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(post, timeout=5)
    assert refused.value.code == 405
    assert "script-src 'self'" in refused.value.headers["Content-Security-Policy"]


def test_the_server_names_no_software_version(server: str) -> None:
    _, headers, _ = fetch(server + "/")
    assert headers["Server"] == "clinic-page"
    _, headers, body = fetch(server + "/nothing-here")
    assert headers["Server"] == "clinic-page" and body == b"Not found\n"


def test_the_supervised_command_line_serves_the_page(tmp_path: Path) -> None:
    """`python -m web.serve --host H --port P`, as scripts/supervisord.conf starts it."""
    port = free_port()
    env = {**os.environ, "STAFF_DB": str(tmp_path / "staff.db")}
    process = subprocess.Popen(
        [sys.executable, "-m", "web.serve", "--host", "127.0.0.1", "--port", str(port), "--quiet"],
        cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", 30, process)
        status, headers, body = fetch(f"http://127.0.0.1:{port}/")
        assert status == 200 and b"Dry Needling in Downtown Edmonton" in body
        assert "form-action 'none'" in headers["Content-Security-Policy"]
        status, _, body = fetch(f"http://127.0.0.1:{port}/staff/")  # follows to the sign-in page
        assert status == 200 and b"<button type=\"submit\">Sign in</button>" in body
        assert (tmp_path / "staff.db").exists()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_page_is_served_even_when_the_console_database_cannot_be_opened(tmp_path: Path) -> None:
    """Patients keep their page: a broken STAFF_DB only switches the console off, and says so."""
    (tmp_path / "not-a-folder").write_text("a file where a folder should be")
    port = free_port()
    env = {**os.environ, "STAFF_DB": str(tmp_path / "not-a-folder" / "staff.db")}
    process = subprocess.Popen(
        [sys.executable, "-m", "web.serve", "--host", "127.0.0.1", "--port", str(port), "--quiet"],
        cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/", 30, process)
        assert fetch(f"http://127.0.0.1:{port}/staff/")[0] == 404
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "The clinic console is off: its database (STAFF_DB) cannot be opened" in output


def signed_in_cookie(base: str, source: str, headers: Dict[str, str]) -> str:
    """Sign in to the console of a running server from `source`; the session cookie it sets."""
    host, port = base.split("//")[1].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10, source_address=(source, 0))
    connection.request("GET", "/staff/signin", headers=headers)
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": "anna", "password": "correct horse battery", "csrf_token": token}
    )
    connection.request("POST", "/staff/signin", body=form, headers={
        **headers, "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
        "Referer": f"https://{host}:{port}/staff/signin",
    })
    response = connection.getresponse()
    response.read()
    assert response.status == 302, response.status
    return response.headers["Set-Cookie"]


def test_behind_a_local_tls_proxy_the_session_cookie_is_secure(site: Site, tmp_path: Path) -> None:
    """waitress believes X-Forwarded-Proto from the proxy on this machine, from nobody else."""
    saved = dict(os.environ)  # the console applies the project's settings: undone after
    staff = StaffStore(tmp_path / "staff.db")
    staff.set_password("anna", "correct horse battery", "test")
    https = {"X-Forwarded-Proto": "https"}
    try:
        with running(make_server("127.0.0.1", 0, site, staff)) as base:
            proxied = signed_in_cookie(base, "127.0.0.1", https)
            assert "Secure" in proxied and "HttpOnly" in proxied and "SameSite=Lax" in proxied
            assert "Secure" not in signed_in_cookie(base, "127.0.0.1", {})
            assert "Secure" not in signed_in_cookie(base, "127.0.0.2", https)  # not the proxy: ignored
    finally:
        os.environ.clear()
        os.environ.update(saved)
