"""Rasa's REST channel, at the same URL (`/webhooks/rest/webhook`), made robust.

`POST {"sender": "<conversation id>", "message": "<text>", "metadata": {...}}` answers with
the bot's messages as a JSON list, as Rasa's `rest` channel does. Differences:

* a body that is not a JSON object, a missing or non-string `sender`/`message`, or
  non-object `metadata` gets 400 with `{"error": "..."}`; a body over `MAX_REQUEST_BYTES`
  gets 413 (Rasa's channel answered some of these with a 500 or an empty list, and put
  every sender-less message in one shared conversation called "default");
* an empty or over-long message gets a polite reply without running NLU;
* a message that got no reply at all, or none within `REPLY_TIMEOUT_SECONDS`, gets the
  phone hand-off (the safety net);
* `input_channel` in the body is ignored (always `rest`), `?stream=true` is not supported,
  and nothing the patient wrote is logged;
* `GET /webhooks/rest/ready` is the readiness check (for a proxy or a supervisor): 200
  when a model is loaded and the tracker and lock stores answer, else 503 with the problems.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from channels.guard import (
    BadRequest,
    OnNewMessage,
    handle_with_safety_net,
    install_server_guards,
    parse_rest_body,
    screen_text,
    send_reply,
)
from core.limits import Limits, load_limits
from core.settings import settings
from stores.availability import readiness_problems


class RestChannel(RestInput):
    """The REST channel with request validation, size limits and the safety net.

    `name()` stays `rest`: Rasa mounts a channel at `/webhooks/<name>/`.
    """

    def __init__(self, limits: Optional[Limits] = None) -> None:
        """Use `limits`, or those of the environment."""
        self.limits = limits or load_limits()

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        """The channel takes no credentials; its limits come from the environment."""
        return cls()

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        """`GET /` (health) and `POST /webhook`, under `/webhooks/rest/`."""
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        install_server_guards(webhook, self.limits)
        # With several workers, close the connection after each reply: the client's next
        # request is then taken by whichever worker is free. A kept-alive connection stays
        # with the worker that accepted it, and one worker took 31 of 32 (`make bench`).
        close_connections = settings().sanic_workers > 1

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            """200 when a model is loaded and both stores answer; else 503 and why."""
            problems = await readiness_problems(getattr(request.app.ctx, "agent", None))
            if problems:
                return response.json({"status": "not ready", "problems": problems}, status=503)
            return response.json({"status": "ready"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                incoming = parse_rest_body(request.body or b"", self.limits)
            except BadRequest as error:
                return response.json({"error": error.message}, status=error.status)
            collector = CollectingOutputChannel()
            screened = screen_text(incoming.message, self.limits)
            if screened.reply is not None:
                await send_reply(collector, incoming.sender, screened.reply)
            else:
                message = UserMessage(
                    screened.text,
                    collector,
                    incoming.sender,
                    input_channel=self.name(),
                    metadata=incoming.metadata,
                )
                await handle_with_safety_net(
                    on_new_message, message, self.limits.reply_timeout_seconds
                )
            if close_connections and request.stream is not None:
                request.stream.keep_alive = False
            return response.json(collector.messages)

        return webhook
