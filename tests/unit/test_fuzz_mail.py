"""Properties of what reads hostile text: the mail reader (parse, classify, strip quotes, find
attachments), the quote stripper, and the text cleaners at the database and the terminal.
Whatever the input, each returns (or raises its one expected error); none crashes or hangs."""

from __future__ import annotations

import email
import email.policy
import json
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from casework.inbound.classify import Kind, classify
from casework.inbound.parsing import Incoming, html_to_text, read_message
from casework.inbound.quotes import strip_quotes
from casework.text_hygiene import clean_parameters, for_terminal, json_dumps, storable

FUZZ = settings(
    max_examples=300,
    deadline=timedelta(seconds=5),  # a hang guard on a busy machine, not a speed goal
    suppress_health_check=[HealthCheck.too_slow],
)

HEADERS = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "Auto-Submitted",
        "Precedence",
        "Delivered-To",
        "X-Original-To",
        "MIME-Version",
    ]
)
CONTENT_TYPES = st.sampled_from(
    [
        "text/plain; charset=utf-8",
        "text/plain; charset=x-unknown",
        "text/html; charset=iso-8859-1",
        'multipart/mixed; boundary="b"',
        'multipart/report; report-type=delivery-status; boundary="b"',
        "message/delivery-status",
        "message/rfc822",
        "application/pdf; name*=utf-8''fi%00che.pdf",
    ]
)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)
WILD = st.text(max_size=300)  # any code point, lone surrogates and NUL included


@st.composite
def messages(draw: Any) -> bytes:
    """Something shaped like a mail, with anything in its headers, parts and bodies."""
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        name = draw(HEADERS)
        value = draw(st.one_of(CONTENT_TYPES, TEXT)) if name == "Content-Type" else draw(TEXT)
        lines.append(f"{name}: {value}".encode(errors="surrogatepass"))
    body = [draw(st.binary(max_size=300))]
    for _ in range(draw(st.integers(0, 3))):
        body.append(b"--b\r\nContent-Type: " + draw(CONTENT_TYPES).encode() + b"\r\n\r\n")
        body.append(draw(st.binary(max_size=200)) + draw(TEXT).encode())
    body.append(b"--b--\r\n")
    return b"\r\n".join(lines) + b"\r\n\r\n" + b"\r\n".join(body)


@FUZZ
@given(st.one_of(st.binary(max_size=2000), messages()))
def test_any_bytes_are_read_as_a_message_or_marked_unreadable(raw: bytes) -> None:
    read = read_message(Incoming(raw, "fuzz"), max_attachment=1000)
    assert read.message_id.startswith("<")
    assert read.message_id.endswith(">")
    if read.message is None:
        assert read.problem
    else:
        assert read.found is not None
        assert isinstance(read.text, str)


@FUZZ
@given(messages())
def test_the_classifier_says_what_any_message_is(raw: bytes) -> None:
    message = email.message_from_bytes(raw, policy=email.policy.compat32)
    found = classify(message)
    assert found.kind in set(Kind)
    assert (found.bounce is not None) == (found.kind == Kind.BOUNCE)


@FUZZ
@given(WILD)
def test_the_quote_stripper_keeps_only_lines_it_was_given(text: str) -> None:
    stripped = strip_quotes(text)
    given_lines = {
        line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    }
    assert all(line in given_lines for line in stripped.split("\n") if line)
    assert stripped == stripped.strip("\n")


@FUZZ
@given(WILD)
def test_html_is_read_as_text_whatever_it_holds(html: str) -> None:
    assert isinstance(html_to_text(html), str)


@FUZZ
@given(WILD)
def test_storable_text_is_what_both_databases_accept(text: str) -> None:
    cleaned = storable(text)
    assert "\x00" not in cleaned
    cleaned.encode("utf-8")  # no lone surrogate left
    assert storable(cleaned) == cleaned
    if (
        "\x00" not in text
        and text.encode("utf-8", "surrogatepass").decode("utf-8", "replace") == text
    ):
        assert cleaned == text  # nothing else is touched


@FUZZ
@given(
    st.recursive(
        st.none() | st.integers() | WILD,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(WILD, inner, max_size=4),
    )
)
def test_json_documents_are_stored_without_what_jsonb_refuses(document: Any) -> None:
    text = json_dumps(document)
    text.encode("utf-8")
    # What JSONB refuses is a NUL in a string (a typed backslash-u0000 is text, and fine).
    assert not any("\x00" in found for found in _strings(json.loads(text)))


def _strings(document: Any) -> list[str]:
    if isinstance(document, str):
        return [document]
    if isinstance(document, dict):
        return [s for k, v in document.items() for s in (k, *_strings(v))]
    if isinstance(document, list):
        return [s for v in document for s in _strings(v)]
    return []


@FUZZ
@given(
    st.one_of(
        st.lists(st.tuples(st.integers(), WILD, st.none())),
        st.dictionaries(st.text(max_size=5), st.one_of(WILD, st.lists(WILD))),
    )
)
def test_statement_parameters_keep_their_shape_and_lose_what_no_database_holds(params: Any) -> None:
    cleaned = clean_parameters(params)
    assert type(cleaned) is type(params)
    flat = json.dumps(cleaned, ensure_ascii=False) if isinstance(cleaned, dict) else repr(cleaned)
    assert "\x00" not in flat
    if isinstance(cleaned, dict):
        assert cleaned.keys() == params.keys()
    else:
        assert len(cleaned) == len(params)


@FUZZ
@given(WILD)
def test_terminal_text_has_no_escape_or_control_character(text: str) -> None:
    shown = for_terminal(text)
    assert "\x1b" not in shown
    assert "\r" not in shown
    assert all(c in "\n\t" or not (ord(c) < 32 or 0x7F <= ord(c) <= 0x9F) for c in shown)
    one_line = for_terminal(text, keep_newlines=False)
    assert "\n" not in one_line


# -- shapes that were quadratic: each must finish (a hang guard, not a speed goal) -------------


def finishes(work: Callable[[], object], within: float = 60.0) -> None:
    done = threading.Event()

    def run() -> None:
        work()
        done.set()

    threading.Thread(target=run, daemon=True).start()
    assert done.wait(within), "did not finish: a quadratic (or worse) path on hostile input"


def test_a_message_full_of_unclosed_script_tags_is_read() -> None:
    finishes(lambda: html_to_text("<script>" * 200_000 + "bonjour"))


def test_a_reply_of_many_blank_lines_is_stripped() -> None:
    finishes(lambda: strip_quotes("\n" * 500_000 + "Bien reçu." + "\n" * 500_000))


def test_the_terminal_cleaner_reads_endless_escapes() -> None:
    finishes(lambda: for_terminal("\x1b[" * 300_000 + "\x1b]" * 300_000))
