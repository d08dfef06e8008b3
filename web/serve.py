"""Serve the clinic's dry-needling page and its chat widget: `python -m web.serve`.

A Flask app under waitress (a production WSGI server) for `make run`. It serves:

- `/`: `web/static/index.html` with the clinic's name, phone and address from the
  settings (`.env`: CLINIC_NAME, CLINIC_PHONE, CLINIC_ADDRESS) filled in, escaped;
- `/privacy`: `web/static/privacy.html`, what the chat keeps and for how long
  (RETENTION_DAYS), the default PRIVACY_URL;
- `/config.js`: what the widget needs (the Rasa server's URL, the clinic's name);
- `/static/<file>`: the page's own CSS, JavaScript and images;
- `/vendor/rasa-webchat.js`: the chat widget as `make web-deps` built it (web/widget.py);
- `/vendor/chart.js`: Chart.js as `make web-deps` installed it, for the console's charts;
- `/staff/`: the clinic console for staff, behind a sign-in (console/app.py).

Nothing else is served (no directory listing, no path from the request touches the
disk), and every response carries a Content-Security-Policy that only runs this
site's own scripts and only connects to the Rasa server.
"""

from __future__ import annotations

import argparse
import functools
import gzip
import hashlib
import html
import json
import logging
import sqlite3
import sys
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from flask import Flask, Response, request
from waitress.server import BaseWSGIServer, create_server

from console import app as console
from console.accounts import StaffStore, staff_db_path
from core.clinic import Clinic, load_clinic
from core.settings import load, settings
from retrain.project import Project
from web.widget import BUILT

logger = logging.getLogger("web.serve")

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
# The pages, rendered from templates with the clinic's details: the dry needling page
# with the chat, and what the chat keeps (the default PRIVACY_URL).
PAGES = {"/": "index.html", "/privacy": "privacy.html"}
WIDGET_JS = BUILT
# Chart.js's standalone build, pinned in package.json, installed by `make web-deps`.
CHART_JS = WEB_DIR / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"
# waitress's worker threads: requests served at once (the page's files are in memory).
THREADS = 4
# The reverse proxy whose X-Forwarded-Proto and X-Forwarded-For are believed: one on this machine.
TRUSTED_PROXY = "127.0.0.1"
# Larger request bodies are refused (413) before being read.
MAX_REQUEST_BYTES = 64 * 1024


CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
COMPRESSIBLE = (".html", ".js", ".css", ".svg")


@dataclass(frozen=True)
class PageConfig:
    """What the page shows and where its widget connects."""

    clinic: Clinic
    rasa_url: str
    retention_days: int
    privacy_url: str

    @classmethod
    def from_env(cls, environ: Optional[Mapping[str, str]] = None) -> "PageConfig":
        """Read the clinic (as the actions do) and the Rasa server's public URL.

        RASA_PUBLIC_URL is the URL the patient's browser uses to reach the Rasa server;
        by default `http://localhost:<RASA_PORT>`, which matches `make run`.
        """
        current = settings() if environ is None else load(environ=environ)
        rasa_url = current.rasa_public_url or f"http://localhost:{current.rasa_port}"
        return cls(load_clinic(), rasa_url, current.retention_days, current.privacy_url)


def display_name(name: str) -> str:
    """The clinic's name as a heading: "our physiotherapy clinic" -> "Our physiotherapy clinic"."""
    return name[:1].upper() + name[1:]


def render_page(template: str, config: PageConfig) -> str:
    """Fill the page template's `{{placeholders}}` with the clinic's details, HTML-escaped."""
    clinic = config.clinic
    values = {
        "clinic_name": display_name(clinic.name),
        "clinic_phone": clinic.phone,
        "clinic_tel": clinic.tel_uri,
        "clinic_address": clinic.address,
        "retention_days": str(config.retention_days),
        "privacy_url": config.privacy_url,
    }
    page = template
    for key, value in values.items():
        page = page.replace("{{" + key + "}}", html.escape(value, quote=True))
    return page


def config_script(config: PageConfig) -> str:
    """`/config.js`: the widget's settings as a JavaScript object, safe to inline anywhere."""
    settings = {
        "rasaUrl": config.rasa_url,
        "socketPath": "/socket.io/",
        "clinicName": config.clinic.name,
        "clinicPhone": config.clinic.phone,
        "clinicTel": config.clinic.tel_uri,
    }
    data = json.dumps(settings, ensure_ascii=True)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return f"window.CLINIC_CHAT = Object.freeze({data});\n"


def websocket_origin(url: str) -> str:
    """`http://host:port/...` -> `ws://host:port` (and https -> wss)."""
    parts = urlsplit(url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}"


def http_origin(url: str) -> str:
    """`http://host:port/...` -> `http://host:port`."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(config: PageConfig, form_action: str = "'none'") -> str:
    """Only this site's scripts run; the page connects only to itself and the Rasa server.

    rasa-webchat injects its CSS as `<style>` elements and uses inline styles and
    `data:` images, hence `'unsafe-inline'` for styles (never for scripts) and `data:`.
    The page has no forms (`form-action 'none'`); the console's post to itself (`'self'`).
    """
    rasa = f"{http_origin(config.rasa_url)} {websocket_origin(config.rasa_url)}"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            f"connect-src 'self' {rasa}",
            "object-src 'none'",
            "base-uri 'none'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
        ]
    )


@dataclass(frozen=True)
class Resource:
    """One file the site serves, ready to send."""

    body: bytes
    content_type: str
    etag: str
    gzipped: Optional[bytes] = None

    @classmethod
    def make(cls, body: bytes, suffix: str) -> "Resource":
        """Wrap a body; text resources also get a gzipped copy."""
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        gzipped = gzip.compress(body, mtime=0) if suffix in COMPRESSIBLE else None
        return cls(body, CONTENT_TYPES.get(suffix, "application/octet-stream"), etag, gzipped)


class Site:
    """The fixed set of resources the page server answers with."""

    def __init__(
        self,
        config: PageConfig,
        static_dir: Path = STATIC_DIR,
        widget_js: Path = WIDGET_JS,
        chart_js: Path = CHART_JS,
    ) -> None:
        """Load every resource once: a request never builds a path to the disk."""
        for needed, what in ((widget_js, "the chat widget"), (chart_js, "Chart.js")):
            if not needed.is_file():
                raise FileNotFoundError(f"{needed} is missing: install {what} with `make web-deps`")
        self.config = config
        self.csp = content_security_policy(config)
        self.resources: Dict[str, Resource] = {
            url: Resource.make(render_page((static_dir / name).read_text("utf-8"), config).encode(), ".html")
            for url, name in PAGES.items()
        }
        self.resources.update({
            "/config.js": Resource.make(config_script(config).encode("utf-8"), ".js"),
            "/vendor/rasa-webchat.js": Resource.make(widget_js.read_bytes(), ".js"),
            "/vendor/chart.js": Resource.make(chart_js.read_bytes(), ".js"),
        })
        for path in sorted(static_dir.iterdir()):
            if path.is_file() and path.name not in PAGES.values() and path.suffix in CONTENT_TYPES:
                self.resources[f"/static/{path.name}"] = Resource.make(path.read_bytes(), path.suffix)

    def find(self, request_path: str) -> Optional[Resource]:
        """The resource for a request's path (query string ignored), if there is one."""
        path = urlsplit(request_path).path
        if path == "/index.html":
            path = "/"
        return self.resources.get(path)


def send_resource(site: Site, resource: Resource) -> Response:
    """A resource with its headers, gzipped when the browser accepts it, or a 304."""
    if request.headers.get("If-None-Match") == resource.etag:
        response = Response(status=HTTPStatus.NOT_MODIFIED)
    else:
        body = resource.body
        response = Response(content_type=resource.content_type)
        if resource.gzipped is not None:
            response.headers["Vary"] = "Accept-Encoding"
            if "gzip" in request.headers.get("Accept-Encoding", ""):
                body = resource.gzipped
                response.headers["Content-Encoding"] = "gzip"
        response.set_data(body)
    response.headers["ETag"] = resource.etag
    return response


def not_found(_error: Exception) -> Response:
    """A short plain-text 404 (no template, no detail)."""
    return Response(b"Not found\n", status=HTTPStatus.NOT_FOUND, content_type="text/plain; charset=utf-8")


def security_headers(site: Site) -> Callable[[Response], Response]:
    """Security and caching headers of every response."""

    def add(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", site.csp)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-cache")
        return response

    return add


def log_request(response: Response) -> Response:
    """One log line per request, through `logging`."""
    logger.info("%s %s %s %s", request.remote_addr, request.method, request.full_path.rstrip("?"),
                response.status_code)
    return response


def create_app(site: Site, staff: Optional[StaffStore] = None, project: Optional[Project] = None) -> Flask:
    """The web app: the page's fixed resources (GET and HEAD only), and the staff console
    at /staff when given its accounts (working on `project`, default this one); everything
    else is 404.

    Flask's own static route is switched off: only the paths of :class:`Site` and the
    console exist, so no path from a request ever reaches the disk.
    """
    app = Flask(__name__, static_folder=None, template_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    aliases = {"/index.html": "/"}
    for url in [*site.resources, *aliases]:
        resource = site.resources[aliases.get(url, url)]
        app.add_url_rule(
            url, endpoint=f"page:{url}", methods=["GET"],
            view_func=functools.partial(send_resource, site, resource),
        )
    app.register_error_handler(HTTPStatus.NOT_FOUND, not_found)
    if staff is not None:
        console.install(app, staff, content_security_policy(site.config, form_action="'self'"), project)
    app.after_request(security_headers(site))
    app.after_request(log_request)
    return app


def make_server(
    host: str, port: int, site: Site, staff: Optional[StaffStore] = None, project: Optional[Project] = None
) -> BaseWSGIServer:
    """The app under waitress, a production WSGI server (port 0 picks a free port).

    A reverse proxy on this machine (SECURITY.md) is trusted for the client's scheme and
    address (`X-Forwarded-Proto`, the last `X-Forwarded-For`): the console's cookie is
    then Secure over https and its sign-in throttle counts per real client. From any
    other peer those headers are dropped. `server.run()` serves until `server.close()`;
    `server.effective_port` is the port.
    """
    return create_server(
        create_app(site, staff, project), host=host, port=port, ident="clinic-page", threads=THREADS,
        trusted_proxy=TRUSTED_PROXY, trusted_proxy_count=1,
        trusted_proxy_headers={"x-forwarded-proto", "x-forwarded-for"}, clear_untrusted_proxy_headers=True,
    )


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options; their defaults come from WEB_HOST and WEB_PORT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    current = settings()
    parser.add_argument("--host", default=current.web_host)
    parser.add_argument("--port", type=int, default=current.web_port)
    parser.add_argument("--quiet", action="store_true", help="don't log each request")
    return parser.parse_args(argv)


def open_staff() -> Optional[StaffStore]:
    """The console's accounts; None (the page is served, the console is off) when they
    cannot be opened: patients keep their page whatever happens to the staff database."""
    try:
        return StaffStore(staff_db_path())
    except (OSError, sqlite3.Error) as error:
        logger.error("The clinic console is off: its database (STAFF_DB) cannot be opened: %s", error)
        return None


def main(argv: Optional[Sequence[str]] = None) -> None:
    """Serve the page until interrupted."""
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="%(asctime)s %(name)s %(message)s",
    )
    try:
        site = Site(PageConfig.from_env())
    except (FileNotFoundError, ValueError) as error:
        sys.exit(f"web.serve: {error}")
    server = make_server(args.host, args.port, site, open_staff())
    logger.warning(
        "Clinic page at http://%s:%s/ (widget -> %s)", args.host, server.effective_port, site.config.rasa_url
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


if __name__ == "__main__":
    main()
