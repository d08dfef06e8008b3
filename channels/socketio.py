"""The socket.io channel of the chat widget on the clinic's page (rasa-webchat).

`credentials.yml` names :class:`SocketIOChannel` instead of Rasa's own `socketio`
channel. It is that channel (same path `/socket.io`, events and `session_persistence`)
with the checks and safety net of the REST channel (channels/guard.py) and three fixes:

* **Checks**: a `user_uttered` event whose data is not an object with a string `message`
  (or, with session persistence, without a `session_id` of 1-128 printable characters)
  gets a polite "couldn't read that"; an empty or over-long message gets a polite reply
  without running NLU; a message that got no reply at all, or none within
  `REPLY_TIMEOUT_SECONDS`, gets the phone hand-off; packets over `MAX_REQUEST_BYTES`
  are refused by python-engineio.
* **Origins**: Rasa 3.6 creates its socket.io server with `cors_allowed_origins=[]`,
  which turns python-engineio's origin check off, so any web site could open a
  WebSocket to the assistant (browsers apply no CORS to WebSockets). Here a browser
  whose `Origin` is not in `CORS_ORIGINS` (the allowlist `scripts/run.sh` passes to
  `rasa run --cors`; the credentials' `cors_allowed_origins` overrides it) cannot
  connect. Setting engineio's `cors_allowed_origins` instead was measured to make every
  polling response carry `Access-Control-Allow-Origin` twice (engineio's and
  Sanic-Cors', which Rasa's `--cors` applies to every route), and browsers reject
  that; so engineio's CORS headers stay off, Sanic-Cors writes them from the same
  allowlist, and the check is in the socket.io `connect` handler.
* **Session persistence**: Rasa 3.6 calls python-socketio 5's `enter_room` coroutine
  without awaiting it (RasaHQ/rasa#13027), so with `session_persistence: true` the
  socket never joins its session's room and no reply reaches the widget.
* **Link buttons**: Rasa's socket.io output drops a button's `type`/`url`, so the
  hand-off's "Call" button would send `tel:...` back as a message. Buttons of type
  `web_url` with an `http(s)`, `tel` or `mailto` URL keep both, and rasa-webchat
  renders them as links.

Rasa's blueprint creates the socket.io server and registers its handlers; this channel
then registers its own for the same events (python-socketio's `on`, which replaces them).
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, Dict, List, Optional, Text, Union
from urllib.parse import urlsplit

from rasa.core.channels.channel import InputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

from channels.guard import (
    UNREADABLE_REPLY,
    BadRequest,
    OnNewMessage,
    check_sender,
    install_server_guards,
    screen_text,
    send_reply,
    with_safety_net,
)
from core.limits import Limits, load_limits
from core.settings import settings

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


class SocketIOChannelOutput(SocketIOOutput):
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


class SocketIOChannel(SocketIOInput):
    """The widget's socket.io channel: origin allowlist, working sessions, checks, safety net."""

    cors_allowed_origins: List[Text]
    limits: Limits

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """Build the channel from `credentials.yml`, plus the origins and the limits.

        Without `cors_allowed_origins` in the credentials, the origins come from the
        `CORS_ORIGINS` setting, the allowlist of the Rasa server's `--cors`.
        """
        credentials = credentials or {}
        channel = super().from_credentials(credentials)
        assert isinstance(channel, SocketIOChannel)
        configured = credentials.get("cors_allowed_origins")
        if configured is None:
            configured = list(settings().cors_origins)
        channel.cors_allowed_origins = parse_origins(configured)
        channel.limits = load_limits()
        return channel

    def get_output_channel(self) -> Optional[SocketIOOutput]:
        """The output channel for messages sent outside a conversation turn."""
        if self.sio is None:
            return super().get_output_channel()
        return SocketIOChannelOutput(self.sio, self.bot_message_evt)

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

    def _message_is_readable(self, data: Any) -> bool:
        """Whether `user_uttered` data has a string message (and session id, if needed)."""
        if not isinstance(data, dict) or not isinstance(data.get("message"), str):
            return False
        if not self.session_persistence:
            return True
        try:
            check_sender(data.get("session_id"))  # the session id is the conversation id
        except BadRequest:
            return False
        return True

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """Rasa's socket.io blueprint, with this channel's handlers and the server guards."""
        limits = getattr(self, "limits", None) or load_limits()
        answer = with_safety_net(on_new_message, limits.reply_timeout_seconds)
        blueprint = super().blueprint(answer)
        sio = self.sio
        assert sio is not None
        sio.eio.max_http_buffer_size = limits.max_request_bytes
        install_server_guards(blueprint, limits)
        if settings().sanic_workers > 1:
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

        async def handle_message(sid: Text, data: Any = None, *_: Any) -> None:
            """Reply politely to unreadable, empty or over-long messages; pass on the rest.

            Replies go to the session's room (with session persistence) or the socket.
            """
            output = SocketIOChannelOutput(sio, self.bot_message_evt)
            if not self._message_is_readable(data):
                await send_reply(output, sid, UNREADABLE_REPLY)
                return
            screened = screen_text(data["message"], limits)
            if screened.reply is not None:
                await send_reply(output, sid, screened.reply)
                return
            if self.session_persistence:
                sender_id = data["session_id"]
            else:
                sender_id = sid
            await answer(
                UserMessage(
                    screened.text,
                    output,
                    sender_id,
                    input_channel=self.name(),
                    metadata=message_metadata(data.get(self.metadata_key)),
                )
            )

        sio.on("connect", connect, namespace=self.namespace)
        sio.on("session_request", session_request, namespace=self.namespace)
        sio.on(self.user_message_evt, handle_message, namespace=self.namespace)
        return blueprint


def message_metadata(value: Any) -> Dict[Text, Any]:
    """The widget's `customData` as a dict (it may come as a JSON string); else empty."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}
