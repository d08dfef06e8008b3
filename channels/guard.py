"""What the REST and socket.io channels share: validation, polite replies, safety net.

The limits (`core.limits`, from `.env`): a message over `MAX_MESSAGE_CHARS` is not run
through NLU (the patient is asked to shorten it, with the phone number, unless it names an
emergency: then the emergency reply); the Rasa server
answers 413 to an HTTP body over `MAX_REQUEST_BYTES` before reading it (Sanic's
`REQUEST_MAX_SIZE`, for every route) and socket.io drops larger packets; a message not
answered within `REPLY_TIMEOUT_SECONDS` gets the phone hand-off (a hung action server
would otherwise keep the patient waiting 5 minutes).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import sys
import unicodedata
import warnings
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Text, Tuple

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.nlg.interpolator import interpolate_text
from rasa.shared.core.domain import Domain
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, Sanic

from core.clinic import load_clinic
from core.handoff import call_button, clinic_details
from core.limits import MAX_SENDER_CHARS, Limits
from core.red_flags import EMERGENCY, SELF_HARM, find_in_long_text
from core.settings import PROJECT
from stores.availability import refuse_in_memory_fallback

logger = logging.getLogger(__name__)
# Characters NLU should not see: control characters and the zero-width space (a word
# break) become spaces; format characters (zero-width joiners, bidi marks) and lone
# surrogates (which cannot even be stored as UTF-8) are dropped.
SPACE_CATEGORIES = frozenset({"Cc", "Zs", "Zl", "Zp"})
DROPPED_CATEGORIES = frozenset({"Cf", "Cs"})
ZERO_WIDTH_SPACE = "\u200b"

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]

# Rasa warns with the patient's whole message when a typed command (`/intent{...}`) names
# an unknown intent or entity or does not parse; at the default log level nothing a
# patient writes may reach the logs.
warnings.filterwarnings("ignore", message="Failed to parse arguments in line", category=UserWarning)


@dataclass(frozen=True)
class Reply:
    """A reply the channel sends itself, without the assistant: a response of the domain,
    the values of its placeholders besides the clinic's, and whether it offers the call."""

    response: str
    values: Mapping[str, Any] = field(default_factory=dict)
    call: bool = False


EMPTY_REPLY = Reply("utter_empty_message")
UNREADABLE_REPLY = Reply("utter_unreadable_message")
# An emergency named in a message too long for the assistant still gets 911 first.
EMERGENCY_REPLIES = {EMERGENCY: Reply("utter_emergency"), SELF_HARM: Reply("utter_self_harm")}
# The safety net's reply: the general phone hand-off.
HANDOFF_REPLY = Reply("utter_handoff", call=True)


def too_long_reply(limits: Limits) -> Reply:
    """Ask for a shorter message, and offer the phone."""
    return Reply("utter_message_too_long", {"max_message_chars": limits.max_message_chars}, call=True)


_server: Optional[Sanic] = None


def use_server_domain(app: Sanic) -> None:
    """Take replies from the domain of the model `app` serves (again after a model reload)."""
    global _server
    _server = app


@functools.lru_cache(maxsize=1)
def _project_domain() -> Domain:
    return Domain.load(str(PROJECT / "domain.yml"))


def domain_responses() -> Dict[Text, List[Dict[Text, Any]]]:
    """The responses of the served model's domain; the project's domain.yml before a model is up."""
    agent = getattr(getattr(_server, "ctx", None), "agent", None)
    domain = getattr(agent, "domain", None)
    if domain is not None and domain.responses:
        return domain.responses
    return _project_domain().responses


def render(reply: Reply) -> Tuple[Text, List[Dict[Text, str]]]:
    """The reply's text (its domain response, filled in) and buttons."""
    clinic = load_clinic()
    variations = domain_responses().get(reply.response) or [{}]
    values = {**clinic_details(clinic), **{key: str(value) for key, value in reply.values.items()}}
    text = interpolate_text(variations[0].get("text") or "", values)
    return text, [call_button(clinic)] if reply.call else []


async def send_reply(output: OutputChannel, recipient_id: Text, reply: Reply) -> None:
    """Send `reply` through `output`, with its buttons if it has any."""
    text, buttons = render(reply)
    if buttons:
        await output.send_text_with_buttons(recipient_id, text, buttons)
    else:
        await output.send_text_message(recipient_id, text)


def clean_text(text: str) -> str:
    """The message as NLU should see it.

    Control characters become spaces, zero-width and bidi-format characters and lone
    surrogates are dropped, whitespace runs become one space, and compatibility forms are
    folded (NFKC: full-width letters, ligatures). Emoji and every script are kept.
    """
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if category in SPACE_CATEGORIES or char == ZERO_WIDTH_SPACE:
            kept.append(" ")
        elif category not in DROPPED_CATEGORIES:
            kept.append(char)
    return " ".join(unicodedata.normalize("NFKC", "".join(kept)).split())


@dataclass(frozen=True)
class Screened:
    """A message after screening: the text to handle, or the reply to send instead."""

    text: str
    reply: Optional[Reply] = None


def screen_text(text: str, limits: Limits) -> Screened:
    """Decide whether a message goes to the assistant, or gets a polite reply right away.

    Over-long messages are refused before NLU, so megabytes of text never reach it; only
    the red-flag phrases read them (their start and end, at bounded cost), and an emergency
    there gets its reply instead. Messages with nothing left after :func:`clean_text` are
    "empty".
    """
    if len(text) > limits.max_message_chars:
        flag = find_in_long_text(text)
        if flag is not None:
            return Screened("", EMERGENCY_REPLIES[flag.intent])
        return Screened("", too_long_reply(limits))
    cleaned = clean_text(text)
    if not cleaned:
        return Screened("", EMPTY_REPLY)
    return Screened(cleaned)


class BadRequest(Exception):
    """A request the channel refuses, with its HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        """Remember the status (400, 413) and the message."""
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Incoming:
    """A validated REST request."""

    sender: str
    message: str
    metadata: Optional[Dict[str, Any]]


def check_sender(sender: Any) -> str:
    """The conversation id, if it is a non-empty string of printable characters."""
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest(400, "`sender` must be a non-empty string: the conversation's id.")
    if len(sender) > MAX_SENDER_CHARS or any(unicodedata.category(c)[0] == "C" for c in sender):
        raise BadRequest(400, f"`sender` must be at most {MAX_SENDER_CHARS} printable characters.")
    return sender


def parse_rest_body(body: bytes, limits: Limits) -> Incoming:
    """Validate a REST request body: `{"sender": str, "message": str, "metadata": {...}?}`.

    Raises :class:`BadRequest` (400, or 413 for a body over the limit) otherwise.
    """
    if len(body) > limits.max_request_bytes:
        raise BadRequest(413, f"The request body is over {limits.max_request_bytes} bytes.")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # includes invalid UTF-8
        payload = None
    if not isinstance(payload, dict):
        raise BadRequest(
            400, 'The body must be a JSON object: {"sender": "<id>", "message": "<text>"}.'
        )
    sender = check_sender(payload.get("sender"))
    message = payload.get("message")
    if not isinstance(message, str):
        raise BadRequest(400, "`message` must be a string.")
    metadata = payload.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest(400, "`metadata`, if given, must be a JSON object.")
    return Incoming(sender, message, metadata)


class ReplyCounter(OutputChannel):
    """Passes the assistant's messages on to another output channel, counting them.

    Rasa sends every bot message through `send_response` (and asks for `name()`). Once
    `closed` (the patient got the hand-off instead), late messages are dropped.
    """

    def __init__(self, inner: OutputChannel) -> None:
        """Wrap `inner`."""
        self.inner = inner
        self.replies = 0
        self.closed = False

    def name(self) -> Text:  # type: ignore[override]
        """The wrapped channel's name (response variations may depend on it)."""
        return self.inner.name()

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        """Count the message and send it through the wrapped channel."""
        self.replies += 1
        if not self.closed:
            await self.inner.send_response(recipient_id, message)

    def __getattr__(self, attribute: str) -> Any:
        """Anything else is the wrapped channel's."""
        return getattr(self.inner, attribute)


async def handle_with_safety_net(
    on_new_message: OnNewMessage, message: UserMessage, timeout: float
) -> None:
    """Let the assistant handle `message`; if that sent no reply at all, send the hand-off.

    That happens when the action server is down (`action_handoff` fails), when handling
    raised, or when no model is loaded. After `timeout` seconds without a finished turn
    (e.g. a hung action server, which Rasa waits 5 minutes for), the patient gets the
    hand-off at once; the turn goes on in the background and is stored when it ends, but
    its late replies are dropped. Nothing the patient wrote is logged.
    """
    counter = ReplyCounter(message.output_channel)
    message.output_channel = counter
    turn = asyncio.ensure_future(on_new_message(message))
    try:
        await asyncio.wait_for(asyncio.shield(turn), timeout)
    except asyncio.TimeoutError:
        logger.warning("A message got no reply within %s s: sending the phone hand-off.", timeout)
        counter.closed = True
        turn.add_done_callback(_log_late_failure)
        await send_reply(counter.inner, message.sender_id, HANDOFF_REPLY)
        return
    except Exception as error:  # noqa: BLE001 - the patient must still get an answer
        logger.error("Handling a message failed (%s): sending the phone hand-off.", type(error).__name__)
        logger.debug("The failure:", exc_info=True)
    if counter.replies == 0:
        logger.warning(
            "A message got no reply (is the action server down?): sending the phone hand-off."
        )
        await send_reply(counter.inner, message.sender_id, HANDOFF_REPLY)


def _log_late_failure(turn: "asyncio.Future[Any]") -> None:
    """Retrieve (and log, without its text) the outcome of a turn that timed out."""
    if not turn.cancelled() and turn.exception() is not None:
        logger.error("A timed-out message failed later (%s).", type(turn.exception()).__name__)


def with_safety_net(on_new_message: OnNewMessage, timeout: float) -> OnNewMessage:
    """`on_new_message`, wrapped in :func:`handle_with_safety_net`."""

    async def handler(message: UserMessage) -> None:
        await handle_with_safety_net(on_new_message, message, timeout)

    return handler


class ModelNotLoaded(RasaException):
    """The Rasa server has no model to serve; it stops instead of half-working."""


def requested_model(argv: Sequence[str]) -> Optional[str]:
    """The `--model`/`-m` value of a `rasa run` command line, if any."""
    for index, arg in enumerate(argv):
        if arg in ("-m", "--model") and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
    return None


def check_model_requested(argv: Sequence[str]) -> None:
    """Raise :class:`ModelNotLoaded` if `rasa run --model` names a file that does not exist.

    Rasa would quietly serve the newest model in `models/` instead.
    """
    requested = requested_model(argv)
    if requested and not os.path.exists(requested):
        _refuse(f"the model {requested} does not exist")


def check_model_loaded(app: Sanic) -> None:
    """Raise :class:`ModelNotLoaded` unless the server's agent has a model loaded.

    Rasa itself starts anyway with a corrupt model (or none): every message would get an
    empty answer.
    """
    agent = getattr(app.ctx, "agent", None)
    if agent is None or not agent.is_ready():
        _refuse("no model could be loaded (a missing or corrupt model file? see above)")


def _refuse(problem: str) -> None:
    message = f"Not serving: {problem}. Train one with `make train`."
    logger.error(message)
    raise ModelNotLoaded(message)


def install_server_guards(blueprint: Blueprint, limits: Limits) -> None:
    """Server-wide guards, set up by each channel (doing it twice is harmless).

    Before start (before Rasa loads the model): Sanic's request-size limit, and a
    `--model` that does not exist stops the server. After start (the model is loaded by
    then): stop with a clear error if there is no model, and turn off Rasa's in-memory
    fallback of the tracker store (stores/availability.py).
    """

    async def before_start(app: Sanic, _loop: Any) -> None:
        app.config.REQUEST_MAX_SIZE = limits.max_request_bytes
        check_model_requested(sys.argv)

    async def after_start(app: Sanic, _loop: Any) -> None:
        check_model_loaded(app)
        use_server_domain(app)
        refuse_in_memory_fallback(app.ctx.agent)

    blueprint.listener("before_server_start")(before_start)
    blueprint.listener("after_server_start")(after_start)

