"""Serve the clinic's dry-needling page and its chat widget: `python -m web.serve`.

A small static server (standard library only) for `make run`. It serves:

- `/`: `web/static/index.html` with the clinic's name, phone and address from the
  settings (`.env`: CLINIC_NAME, CLINIC_PHONE, CLINIC_ADDRESS) filled in, escaped;
- `/privacy`: `web/static/privacy.html`, what the chat keeps and for how long
  (RETENTION_DAYS), the default PRIVACY_URL;
- `/config.js`: what the widget needs (the Rasa server's URL, the clinic's name);
- `/static/<file>`: the page's own CSS, JavaScript and images;
- `/vendor/rasa-webchat.js`: the chat widget as `make web-deps` built it (web/widget.py).

Nothing else is served (no directory listing, no path from the request touches the
disk), and every response carries a Content-Security-Policy that only runs this
site's own scripts and only connects to the Rasa server.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import html
import json
import logging
import sys
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence
from urllib.parse import urlsplit

from core.clinic import Clinic, load_clinic
from core.settings import load, settings
from web.widget import BUILT

logger = logging.getLogger("web.serve")

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
# The pages, rendered from templates with the clinic's details: the dry needling page
# with the chat, and what the chat keeps (the default PRIVACY_URL).
PAGES = {"/": "index.html", "/privacy": "privacy.html"}
WIDGET_JS = BUILT


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


def content_security_policy(config: PageConfig) -> str:
    """Only this site's scripts run; the page connects only to itself and the Rasa server.

    rasa-webchat injects its CSS as `<style>` elements and uses inline styles and
    `data:` images, hence `'unsafe-inline'` for styles (never for scripts) and `data:`.
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
            "form-action 'none'",
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
    ) -> None:
        """Load every resource once: a request never builds a path to the disk."""
        if not widget_js.is_file():
            raise FileNotFoundError(
                f"{widget_js} is missing: install the chat widget with `make web-deps`"
            )
        self.config = config
        self.csp = content_security_policy(config)
        self.resources: Dict[str, Resource] = {
            url: Resource.make(render_page((static_dir / name).read_text("utf-8"), config).encode(), ".html")
            for url, name in PAGES.items()
        }
        self.resources.update({
            "/config.js": Resource.make(config_script(config).encode("utf-8"), ".js"),
            "/vendor/rasa-webchat.js": Resource.make(widget_js.read_bytes(), ".js"),
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


class PageHandler(BaseHTTPRequestHandler):
    """Answers GET and HEAD from the :class:`Site`; everything else is 404 or 501."""

    site: Site
    server_version = "clinic-page"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        """Send a resource with its headers and body."""
        self._respond(with_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        """Send a resource's headers only."""
        self._respond(with_body=False)

    def _respond(self, with_body: bool) -> None:
        """Send the resource, a 304 when the browser's copy is current, or a 404."""
        resource = self.site.find(self.path)
        if resource is None:
            self._send_status(HTTPStatus.NOT_FOUND, b"Not found\n", with_body)
            return
        if self.headers.get("If-None-Match") == resource.etag:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self._common_headers(resource.etag)
            self.end_headers()
            return
        body = resource.body
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", resource.content_type)
        if resource.gzipped is not None:
            self.send_header("Vary", "Accept-Encoding")
            if accepts_gzip:
                body = resource.gzipped
                self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self._common_headers(resource.etag)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _send_status(self, status: HTTPStatus, body: bytes, with_body: bool) -> None:
        """A short plain-text answer such as a 404."""
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self._common_headers(None)
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def _common_headers(self, etag: Optional[str]) -> None:
        """Security and caching headers of every response."""
        self.send_header("Content-Security-Policy", self.site.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("Cache-Control", "no-cache")
        if etag:
            self.send_header("ETag", etag)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Log requests through `logging` rather than to stderr directly."""
        logger.info("%s %s", self.address_string(), format % args)


def make_server(host: str, port: int, site: Site) -> ThreadingHTTPServer:
    """A threading HTTP server for the site (port 0 picks a free port)."""
    handler = type("SitePageHandler", (PageHandler,), {"site": site})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line options; their defaults come from WEB_HOST and WEB_PORT."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    current = settings()
    parser.add_argument("--host", default=current.web_host)
    parser.add_argument("--port", type=int, default=current.web_port)
    parser.add_argument("--quiet", action="store_true", help="don't log each request")
    return parser.parse_args(argv)


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
    server = make_server(args.host, args.port, site)
    host, port = server.server_address[:2]
    logger.warning("Clinic page at http://%s:%s/ (widget -> %s)", host, port, site.config.rasa_url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
