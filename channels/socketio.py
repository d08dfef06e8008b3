"""The socket.io channel of the chat widget (web/socketio_channel.py), made robust.

Same path (`/socket.io`), events and session handling as
:class:`web.socketio_channel.ClinicSocketIOInput` (its origin allowlist included), plus:

* a `user_uttered` event whose data is not an object with a string `message` (or, with
  session persistence, without a `session_id` of 1-128 printable characters) gets a
  polite "couldn't read that" instead of being dropped or raising;
* an empty or over-long message gets a polite reply without running NLU;
* a message that got no reply at all, or none within `REPLY_TIMEOUT_SECONDS`, gets the
  phone hand-off (the safety net);
* packets over `MAX_REQUEST_BYTES` are refused by python-engineio.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel
from sanic import Blueprint

from channels.guard import (
    UNREADABLE_REPLY,
    BadRequest,
    Limits,
    OnNewMessage,
    check_sender,
    install_server_guards,
    load_limits,
    screen_text,
    send_reply,
    with_safety_net,
)
from web.socketio_channel import ClinicSocketIOInput, ClinicSocketIOOutput


class SocketIOChannel(ClinicSocketIOInput):
    """The widget's socket.io channel with validation, size limits and the safety net."""

    limits: Limits

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """As the widget's channel; the limits come from the environment."""
        channel = super().from_credentials(credentials)
        assert isinstance(channel, SocketIOChannel)
        channel.limits = load_limits()
        return channel

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
        """The widget channel's blueprint, with the checks in front of its message handler."""
        limits = getattr(self, "limits", None) or load_limits()
        blueprint = super().blueprint(with_safety_net(on_new_message, limits.reply_timeout_seconds))
        sio = self.sio
        assert sio is not None
        sio.eio.max_http_buffer_size = limits.max_request_bytes
        install_server_guards(blueprint, limits)
        handle_checked_message = sio.handlers[self.namespace or "/"][self.user_message_evt]

        async def handle_message(sid: Text, data: Any = None, *_: Any) -> None:
            """Reply politely to unreadable, empty or over-long messages; pass on the rest."""
            output = ClinicSocketIOOutput(sio, self.bot_message_evt)
            if not self._message_is_readable(data):
                await send_reply(output, sid, UNREADABLE_REPLY)
                return
            screened = screen_text(data["message"], limits)
            if screened.reply is not None:
                await send_reply(output, sid, screened.reply)
                return
            await handle_checked_message(sid, {**data, "message": screened.text})

        sio.on(self.user_message_evt, handle_message, namespace=self.namespace)
        return blueprint
