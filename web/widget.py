"""The chat widget as the page serves it, built once by `make web-deps` (`python -m web.widget`).

rasa-webchat's bundle, installed pinned by `npm ci` into `web/node_modules`, gets two
changes here, and only for the version they were written for (`WIDGET_VERSION`, the pin in
`web/package.json`); any other version stops the install with a clear error:

* its CSS `@import` of a web font from a CDN goes: the page loads nothing from other hosts;
* it connects over WebSocket alone. It opens socket.io with long-polling first, and the
  Rasa server runs several worker processes (SANIC_WORKERS): a polling session lives in
  one of them only. Its `protocolOptions` setting never reaches socket.io, so the
  transport is set in the bundle's socket.io options.

The page server (`web/serve.py`) serves the result, `web/build/rasa-webchat.js`, as it is.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

WEB_DIR = Path(__file__).resolve().parent
PACKAGE_DIR = WEB_DIR / "node_modules" / "rasa-webchat"
SOURCE = PACKAGE_DIR / "lib" / "index.js"
BUILT = WEB_DIR / "build" / "rasa-webchat.js"
WIDGET_VERSION = "1.0.1"

REMOTE_CSS_IMPORT = re.compile(rb"@import url\(https?://[^)]*\);")
SOCKETIO_OPTIONS = b"socketio:function(e,t,n){var r=n?{path:n}:{}"
SOCKETIO_WEBSOCKET_ONLY = (
    b'socketio:function(e,t,n){var r=n?{path:n,transports:["websocket"]}:{transports:["websocket"]}'
)


class WidgetError(Exception):
    """The installed widget is not the one these changes were written for."""


def local_widget(bundle: bytes) -> bytes:
    """The widget's bundle without its CSS imports from other hosts, on WebSocket only."""
    if bundle.count(SOCKETIO_OPTIONS) != 1:
        raise WidgetError("the chat widget's socket.io options were not found: another rasa-webchat?")
    return REMOTE_CSS_IMPORT.sub(b"", bundle).replace(SOCKETIO_OPTIONS, SOCKETIO_WEBSOCKET_ONLY)


def installed_version(package_dir: Path = PACKAGE_DIR) -> str:
    """The version of the installed rasa-webchat (its package.json)."""
    return str(json.loads((package_dir / "package.json").read_text(encoding="utf-8"))["version"])


def build(package_dir: Path = PACKAGE_DIR, target: Path = BUILT) -> Path:
    """Write the widget as served; refuse a rasa-webchat other than `WIDGET_VERSION`."""
    version = installed_version(package_dir)
    if version != WIDGET_VERSION:
        raise WidgetError(
            f"rasa-webchat {version} is installed; web/widget.py was written for {WIDGET_VERSION}"
        )
    bundle = local_widget((package_dir / "lib" / "index.js").read_bytes())
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    partial.write_bytes(bundle)
    partial.replace(target)
    return target


if __name__ == "__main__":
    try:
        print(f"Built {build()}")
    except (WidgetError, OSError) as error:
        sys.exit(f"error: {error}")
