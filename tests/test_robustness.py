"""Bad input over the REST and socket.io channels, against the real servers (one stack).

Every bad input gets a polite reply or a 4xx (never a 500, never a hang), and the next
normal message is answered normally. Typed Rasa commands affect only the patient's own
conversation and never the clinic's details. Random text and JSON (Hypothesis) too.
Also here, as they need a running server: the logs hold no message text, the action
server listens on loopback only, the HTTP API is off without a token.
"""

from __future__ import annotations

import asyncio
import json
import socket
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.servers import Stack, reply_texts, running_stack
from core.clinic import load_clinic
from core.limits import MAX_SENDER_CHARS, load_limits
from tests.socketio_ws import conversation

CLINIC = load_clinic()
MAX_MESSAGE_CHARS = load_limits().max_message_chars
ALLOWED_ORIGIN = "http://clinic.example"
TIMEOUT = 60
# A question with a known answer: the "normal message" after each bad input.
NORMAL = "what is a trigger point"
NORMAL_ANSWER = "trigger point"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Action server and Rasa server on free ports, CORS allowing one origin."""
    with running_stack(tmp_path_factory.mktemp("robust"), rasa_args=["--cors", ALLOWED_ORIGIN]) as s:
        yield s


def post(stack: Stack, body: bytes, headers: Dict[str, str] | None = None) -> Tuple[int, Any]:
    """POST raw bytes to the REST webhook; (status, parsed JSON body)."""
    request = urllib.request.Request(
        stack.webhook, data=body, headers=headers or {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def post_json(stack: Stack, payload: Any) -> Tuple[int, Any]:
    """POST a JSON document to the REST webhook."""
    return post(stack, json.dumps(payload).encode())


def assert_polite(status: int, replies: Any) -> str:
    """A 200 with at least one non-empty text reply; returns the texts."""
    assert status == 200, replies
    assert isinstance(replies, list) and replies, replies
    assert all(isinstance(r, dict) and r.get("text") for r in replies), replies
    return reply_texts(replies)


def assert_normal_answer(stack: Stack, sender: str) -> None:
    """The next normal message of `sender` is answered normally."""
    status, replies = post_json(stack, {"sender": sender, "message": NORMAL})
    assert NORMAL_ANSWER in assert_polite(status, replies).lower()


# --- REST: bodies that are not a valid request get 400 with a JSON error -----------------

BAD_REQUESTS = {
    "invalid JSON": b"{not json",
    "empty body": b"",
    "JSON array": b'["sender", "message"]',
    "JSON string": b'"hello"',
    "JSON null": b"null",
    "invalid UTF-8": b'{"sender": "p", "message": "\xff\xfe\xc3("}',
    "binary": bytes(range(256)),
    "deeply nested": b"[" * 50_000 + b"]" * 50_000,
    "missing sender": b'{"message": "hi"}',
    "numeric sender": b'{"sender": 42, "message": "hi"}',
    "null sender": b'{"sender": null, "message": "hi"}',
    "empty sender": b'{"sender": "", "message": "hi"}',
    "whitespace sender": b'{"sender": "  ", "message": "hi"}',
    "long sender": json.dumps({"sender": "s" * (MAX_SENDER_CHARS + 1), "message": "hi"}).encode(),
    "control char sender": b'{"sender": "a\\u0000b", "message": "hi"}',
    "missing message": b'{"sender": "p"}',
    "numeric message": b'{"sender": "p", "message": 3}',
    "null message": b'{"sender": "p", "message": null}',
    "list message": b'{"sender": "p", "message": ["hi"]}',
    "object message": b'{"sender": "p", "message": {"text": "hi"}}',
    "boolean message": b'{"sender": "p", "message": true}',
    "string metadata": b'{"sender": "p", "message": "hi", "metadata": "x"}',
}


@pytest.mark.parametrize("body", BAD_REQUESTS.values(), ids=list(BAD_REQUESTS))
def test_invalid_requests_get_400_with_a_json_error(stack: Stack, body: bytes) -> None:
    """Not a JSON object with string `sender` and `message`: 400, `{"error": ...}`."""
    status, answer = post(stack, body)
    assert status == 400, answer
    assert isinstance(answer, dict) and answer["error"]


def test_form_encoded_json_is_still_accepted(stack: Stack) -> None:
    """`curl -d '{...}'` sends a form content type: the README's example must work."""
    body = json.dumps({"sender": "p-curl", "message": NORMAL}).encode()
    status, replies = post(stack, body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert NORMAL_ANSWER in assert_polite(status, replies).lower()


def test_get_on_the_webhook_is_a_4xx(stack: Stack) -> None:
    """Wrong method: 405, not a 500."""
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(stack.webhook, timeout=TIMEOUT)
    assert error.value.code == 405


def raw_status(port: int, head: bytes, body: bytes) -> int:
    """Send a raw HTTP request (the body as far as the server reads it); its status."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(head)
        try:
            for start in range(0, len(body), 65536):
                sock.sendall(body[start:start + 65536])
        except OSError:
            pass  # the server answered and closed before reading it all, as it should
        response = b""
        try:
            while b"\r\n" not in response:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                response += chunk
        except ConnectionResetError:
            pass
    assert response.startswith(b"HTTP/1.1 "), response[:100]
    return int(response.split()[1])


FIVE_MB = json.dumps({"sender": "p-5mb", "message": "x" * 5_000_000}).encode()


def test_a_5_mb_body_gets_413(stack: Stack) -> None:
    """Over MAX_REQUEST_BYTES (1 MiB): 413, refused before the body is read."""
    head = (
        f"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(FIVE_MB)}\r\n\r\n"
    ).encode()
    assert raw_status(stack.rasa_port, head, FIVE_MB) == 413
    assert_normal_answer(stack, "p-5mb")


def test_a_5_mb_chunked_body_gets_413(stack: Stack) -> None:
    """Without a Content-Length (chunked): 413 once the limit is passed."""
    head = (
        b"POST /webhooks/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunks = b"".join(
        f"{len(FIVE_MB[i:i + 65536]):x}\r\n".encode() + FIVE_MB[i:i + 65536] + b"\r\n"
        for i in range(0, len(FIVE_MB), 65536)
    ) + b"0\r\n\r\n"
    assert raw_status(stack.rasa_port, head, chunks) == 413


# --- REST: messages that get a polite reply, then a normal answer ------------------------

EMPTY_MESSAGES = {
    "empty": "",
    "whitespace": " \n\t  \r\n",
    "zero-width only": "\u200b\u200c\u200d\ufeff",
    "control characters only": "\x00\x01\x07\x1b\x7f",
    "bidi marks only": "\u202e\u202d\u200f",
}


@pytest.mark.parametrize("message", EMPTY_MESSAGES.values(), ids=list(EMPTY_MESSAGES))
def test_empty_messages_get_a_prompt(stack: Stack, message: str) -> None:
    """Nothing to read: "what would you like to know?", then normal service."""
    sender = f"p-empty-{abs(hash(message))}"
    status, replies = post_json(stack, {"sender": sender, "message": message})
    assert "What would you like to know" in assert_polite(status, replies)
    assert_normal_answer(stack, sender)


def test_a_100_kb_message_is_asked_to_be_shorter_with_the_phone(stack: Stack) -> None:
    """100 KB of text is not run through NLU: a polite request and the phone number."""
    message = ("Can I exercise after dry needling? " * 3000)[:100_000]
    status, replies = post_json(stack, {"sender": "p-100k", "message": message})
    text = assert_polite(status, replies)
    assert "too long" in text and CLINIC.phone in text
    assert str(MAX_MESSAGE_CHARS) in text
    assert_normal_answer(stack, "p-100k")


ODD_MESSAGES = {
    "emoji": "🙂👍🏽🤔",
    "emoji question": "Can I exercise after dry needling? 💪🏋️",
    "Arabic (right-to-left)": "ما هو الوخز بالإبر الجافة؟",
    "Hebrew (right-to-left)": "מה זה דיקור יבש?",
    "RTL override": "\u202ewhat is dry needling\u202c",
    "zero-width inside words": "what is dry\u200bneed\u200dling",
    "control characters": "what is\x00 dry\x07 needling\x1b[31m",
    "lone surrogate": "what is dry needling \ud800",
    "HTML and script": "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "SQL": "'; DROP TABLE events; --",
    "template": "{{7*7}} ${jndi:ldap://x} %s %n",
    "full-width": "ｗｈａｔ ｉｓ ｄｒｙ ｎｅｅｄｌｉｎｇ",
    "just under the limit": "needling " * (MAX_MESSAGE_CHARS // 9),
    "restart command": "/restart",
    "typed intent with clinic phone": '/greet{"clinic_phone": "555-0100"}',
    "typed intent, broken entities": '/greet{"clinic_phone": ',
    "unknown typed intent": "/make_me_admin",
    "typed action name": "/action_handoff",
    "typed intent with confidence": "/faq@0.99",
}


@pytest.mark.parametrize("message", ODD_MESSAGES.values(), ids=list(ODD_MESSAGES))
def test_odd_messages_get_an_answer_and_service_goes_on(stack: Stack, message: str) -> None:
    """Emoji, RTL, zero-width, control characters, HTML, commands: an answer, never echoed
    markup, never another phone number; then a normal answer."""
    sender = f"p-odd-{abs(hash(message))}"
    status, replies = post_json(stack, {"sender": sender, "message": message})
    text = assert_polite(status, replies)
    assert "<script" not in text and "555-0100" not in text
    assert_normal_answer(stack, sender)


def test_cleaned_questions_are_understood(stack: Stack) -> None:
    """Zero-width and bidi characters do not stop a question from being answered."""
    status, replies = post_json(
        stack, {"sender": "p-clean", "message": "\u202ecan I go to the gym after dry\u200bneedling?\u200f"}
    )
    assert "avoid high-impact or strenuous activities" in assert_polite(status, replies)


def test_typed_commands_cannot_change_the_clinic_details(stack: Stack) -> None:
    """Entities in a typed intent are not slots: the hand-off keeps the configured number."""
    sender = "p-phone"
    for command in (
        '/contact{"clinic_phone": "555-0100", "phone": "555-0100", "CLINIC_PHONE": "555-0100"}',
        '/book_appointment{"clinic_address": "Evil St", "clinic_name": "Evil Inc"}',
        "How can I reach the clinic?",
    ):
        status, replies = post_json(stack, {"sender": sender, "message": command})
        text = assert_polite(status, replies)
        assert CLINIC.phone in text and "555-0100" not in text and "Evil" not in text
        assert replies[-1]["buttons"][0]["url"] == CLINIC.tel_uri


def test_typed_commands_affect_only_their_own_conversation(stack: Stack) -> None:
    """Another patient's /restart leaves this patient's conversation where it was."""
    replies = stack.send("p-own", NORMAL)
    assert "anything else" in reply_texts(replies)
    for command in ("/restart", "/session_start", '/deny{"sender": "p-own"}'):
        assert_polite(*post_json(stack, {"sender": "p-other", "message": command}))
    assert "Goodbye" in reply_texts(stack.send("p-own", "no"))


# --- Hypothesis: random text and random JSON ---------------------------------------------

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(message=st.text(max_size=300))
def test_any_text_gets_an_answer(stack: Stack, message: str) -> None:
    """Any string as the message: 200 and at least one text reply."""
    assert_polite(*post_json(stack, {"sender": "p-random-text", "message": message}))


@PROPERTY_SETTINGS
@given(
    payload=st.one_of(
        JSON_VALUES,
        st.fixed_dictionaries({"sender": JSON_VALUES, "message": JSON_VALUES}),
        st.fixed_dictionaries(
            {"sender": st.text(min_size=1, max_size=20), "message": JSON_VALUES},
            optional={"metadata": JSON_VALUES, "input_channel": JSON_VALUES},
        ),
    )
)
def test_any_json_gets_an_answer_or_a_400(stack: Stack, payload: Any) -> None:
    """Any JSON document: a polite 200 if it is a valid request, else 400 with an error."""
    status, answer = post_json(stack, payload)
    if status == 400:
        assert isinstance(answer, dict) and answer["error"]
    else:
        assert_polite(status, answer)


@PROPERTY_SETTINGS
@given(body=st.binary(max_size=300))
def test_any_bytes_get_an_answer_or_a_400(stack: Stack, body: bytes) -> None:
    """Any bytes as the body: 200 or 400, never a 500."""
    status, answer = post(stack, body)
    assert status in (200, 400), answer


def test_service_goes_on_after_the_random_input(stack: Stack) -> None:
    """After everything above, a normal question is answered normally."""
    assert_normal_answer(stack, "p-after-random")


# --- Access and logs ---------------------------------------------------------------------


def listening_addresses(port: int) -> List[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of sockets listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if int(hex_port, 16) == port and fields[3] == "0A":  # LISTEN
                found.append(address)
    return found


def test_action_server_listens_on_loopback_only(stack: Stack) -> None:
    """SANIC_HOST=127.0.0.1 (as scripts/run.sh sets it): not reachable from outside."""
    assert listening_addresses(stack.action_port) == ["0100007F"]


def test_cors_allows_only_the_allowlist(stack: Stack) -> None:
    """The configured origin gets Access-Control-Allow-Origin; another origin does not."""
    for origin, allowed in ((ALLOWED_ORIGIN, True), ("http://evil.example", False)):
        request = urllib.request.Request(
            stack.webhook, data=json.dumps({"sender": "p-cors", "message": "hi"}).encode(),
            headers={"Content-Type": "application/json", "Origin": origin},
        )
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            header = response.headers.get("Access-Control-Allow-Origin")
        assert (header == origin) if allowed else header is None, (origin, header)


def test_logs_hold_no_message_text(stack: Stack) -> None:
    """At the default log level, nothing a patient writes reaches the servers' logs, even
    when handling fails (typed commands that do not parse, a 100 KB message)."""
    marker = "zqxjwv"
    messages = [
        f"what is dry needling {marker}",
        f"does insurance cover {marker}",  # hand-off: the action server
        f'/greet{{"{marker}": "1"}}',
        f"/{marker}_intent",
        f'/greet{{"x": {marker}',
        f"{marker} " * 20_000,
    ]
    for message in messages:
        assert_polite(*post_json(stack, {"sender": "p-logs", "message": message}))
    asyncio.run(conversation(stack.rasa_port, None, [f"hello {marker}", f"/{marker}"], "s-logs"))
    for log in ("rasa.log", "actions.log"):
        assert stack.workdir is not None
        assert marker not in (stack.workdir / log).read_text(errors="replace"), log
