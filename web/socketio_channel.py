"""Rasa's socket.io channel for the chat widget on the clinic's page, with three fixes.

`credentials.yml` names :class:`ClinicSocketIOInput` instead of Rasa's own `socketio`
channel. It is that channel (same events, same `session_persistence`) except:

1. **Origins**: Rasa 3.6 creates its socket.io server with `cors_allowed_origins=[]`,
   which turns python-engineio's origin check off, so any web site could open a
   WebSocket to the assistant (browsers apply no CORS to WebSockets). Here a browser
   whose `Origin` is not in `CORS_ORIGINS` (the allowlist `scripts/run.sh` passes to
   `rasa run --cors`; the credentials' `cors_allowed_origins` overrides it) cannot
   connect. Setting engineio's `cors_allowed_origins` instead was measured to make every
   polling response carry `Access-Control-Allow-Origin` twice (engineio's and
   Sanic-Cors', which Rasa's `--cors` applies to every route), and browsers reject
   that; so engineio's CORS headers stay off, Sanic-Cors writes them from the same
   allowlist, and the check is in the socket.io `connect` handler.
2. **Session persistence**: Rasa 3.6 calls python-socketio 5's `enter_room` coroutine
   without awaiting it (RasaHQ/rasa#13027), so with `session_persistence: true` the
   socket never joins its session's room and no reply reaches the widget.
3. **Link buttons**: Rasa's socket.io output drops a button's `type`/`url`, so the
   hand-off's "Call" button would send `tel:...` back as a message. Buttons of type
   `web_url` with an `http(s)`, `tel` or `mailto` URL keep both, and rasa-webchat
   renders them as links.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Union
from urllib.parse import urlsplit

from rasa.core.channels.channel import UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from rasa.shared.utils.io import raise_warning
from sanic import Blueprint

from channels.guard import sanic_workers

logger = logging.getLogger(__name__)

LINK_SCHEMES = frozenset({"http", "https", "tel", "mailto"})


def parse_origins(value: Union[Text, List[Text], None]) -> List[Text]:
    """Origins from a space- or comma-separated string (as in `.env`) or a list.

    Trailing slashes are dropped: browsers send `Origin: http://host:port` without one.
    """
    if value is None:
        return []
    items = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    return [str(item).strip().rstrip("/") for item in items if str(item).strip()]


def is_link_url(url: Text) -> bool:
    """Whether a button's URL is one the widget may render as a link."""
    return urlsplit(url.strip()).scheme.lower() in LINK_SCHEMES


def quick_reply(button: Dict[Text, Any]) -> Dict[Text, Any]:
    """A Rasa button as rasa-webchat's quick reply, keeping `type`/`url` of link buttons."""
    reply: Dict[Text, Any] = {
        "content_type": "text",
        "title": button["title"],
        "payload": button.get("payload", ""),
    }
    url = button.get("url")
    if button.get("type") == "web_url" and isinstance(url, str) and is_link_url(url):
        reply["type"] = "web_url"
        reply["url"] = url.strip()
    return reply


class ClinicSocketIOOutput(SocketIOOutput):
    """Rasa's socket.io output, except that link buttons stay links."""

    async def send_text_with_buttons(
        self,
        recipient_id: Text,
        text: Text,
        buttons: List[Dict[Text, Any]],
        **kwargs: Any,
    ) -> None:
        """Send the text (split on blank lines) with the buttons on its last part."""
        parts = text.strip().split("\n\n") or [text]
        messages: List[Dict[Text, Any]] = [
            {"text": part, "quick_replies": []} for part in parts
        ]
        messages[-1]["quick_replies"] = [quick_reply(button) for button in buttons]
        for message in messages:
            await self._send_message(recipient_id, message)


class ClinicSocketIOInput(SocketIOInput):
    """Rasa's socket.io input channel with an origin allowlist and working sessions."""

    cors_allowed_origins: List[Text]

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> SocketIOInput:
        """Build the channel from `credentials.yml`, plus `cors_allowed_origins`.

        Without `cors_allowed_origins` in the credentials, the origins come from the
        `CORS_ORIGINS` environment variable, the allowlist of the Rasa server's `--cors`.
        """
        credentials = credentials or {}
        channel = super().from_credentials(credentials)
        assert isinstance(channel, ClinicSocketIOInput)
        configured = credentials.get("cors_allowed_origins")
        if configured is None:
            configured = os.environ.get("CORS_ORIGINS", "")
        channel.cors_allowed_origins = parse_origins(configured)
        return channel

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        """The output channel for messages sent outside a conversation turn."""
        if self.sio is None:
            return super().get_output_channel()
        return ClinicSocketIOOutput(self.sio, self.bot_message_evt)

    def origin_allowed(self, environ: Dict[Text, Any]) -> bool:
        """Whether a connecting client's `Origin` is allowed.

        Clients that send no `Origin` (not a browser) and same-origin pages are allowed,
        as python-engineio does; `*` in the allowlist allows every origin.
        """
        origin = environ.get("HTTP_ORIGIN")
        if not origin:
            return True
        allowed = getattr(self, "cors_allowed_origins", [])
        if "*" in allowed or origin.rstrip("/") in allowed:
            return True
        scheme = environ.get("wsgi.url_scheme", "http")
        return origin == f"{scheme}://{environ.get('HTTP_HOST', '')}"

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        """Rasa's socket.io blueprint, with the origin check and fixed event handlers."""
        blueprint = super().blueprint(on_new_message)
        sio = self.sio
        assert sio is not None
        if sanic_workers() > 1:
            # A long-polling session lives in one worker process, and the next poll may
            # reach another: with several workers, socket.io clients connect by WebSocket
            # (the page's widget does); a polling handshake gets a clear 400.
            sio.eio.transports = ["websocket"]

        async def connect(
            sid: Text, environ: Dict[Text, Any], auth: Optional[Dict[Text, Any]] = None
        ) -> bool:
            """Refuse disallowed origins, then check the JWT as Rasa does (if configured)."""
            if not self.origin_allowed(environ):
                logger.warning(
                    "Refused a socket.io connection from origin %r (not in CORS_ORIGINS).",
                    environ.get("HTTP_ORIGIN"),
                )
                return False
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                payload = (
                    decode_bearer_token(token, self.jwt_key, self.jwt_algorithm)
                    if token
                    else None
                )
                return bool(payload)
            return True

        async def session_request(sid: Text, data: Optional[Dict[Text, Any]]) -> None:
            """Confirm the widget's session id (a new one if it has none) and join it."""
            if not isinstance(data, dict):
                data = {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not session_id:
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=self.namespace)
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        async def handle_message(sid: Text, data: Dict[Text, Any]) -> None:
            """Pass the patient's message to Rasa; replies go to the session's room."""
            if not isinstance(data, dict):
                return
            if self.session_persistence:
                session_id = data.get("session_id")
                if not isinstance(session_id, str) or not session_id:
                    raise_warning(
                        "A socket.io message without a session_id was ignored: the "
                        "widget must send `session_request` first."
                    )
                    return
                sender_id = session_id
            else:
                sender_id = sid
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            if not isinstance(metadata, dict):
                metadata = {}
            message = UserMessage(
                str(data.get("message", "")),
                ClinicSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata,
            )
            await on_new_message(message)

        # Replace the handlers Rasa registered for these events.
        sio.on("connect", connect, namespace=self.namespace)
        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, handle_message, namespace=self.namespace)
        return blueprint
