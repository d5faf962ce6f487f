"""Reading a message without the database: its keys, sender, subject, text and files.

Guarantees: `read_message` returns whatever the input (hostile, truncated, undecodable): what
cannot be parsed or analysed comes back marked with the problem, in French, to be quarantined;
nothing here raises, writes or looks anything up. The Message-ID it gives is exactly the one
stored (or a hash of the bytes), so a second copy is recognised by it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from casework.inbound.classify import Classified, classify
from casework.inbound.quotes import strip_quotes
from casework.text_limits import NOTE, fitted, french_number

_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
# A Message-ID kept as it is: no control character, no surrogate (RFC 5322 and 6532 allow none).
_PLAIN_ID = re.compile(r"[^\x00-\x20\x7f-\x9f\ud800-\udfff]+")


@dataclass(frozen=True)
class Incoming:
    """A message as a reader hands it over: `recipients` are the envelope's (LMTP/SMTP),
    `imap` the mailbox's (UIDVALIDITY, UID)."""

    raw: bytes
    source: str
    recipients: tuple[str, ...] = ()
    imap: tuple[int, int] | None = None
    # A message over `inbound.max_message_bytes`, handed over as its headers only (`raw`): its
    # size. It is recorded in the quarantine, the whole message left in the mailbox.
    oversize: int | None = None


@dataclass
class ReadMessage:
    """What is known of a message before the database: parsed, classified, its text."""

    incoming: Incoming
    message_id: str
    sender: str | None
    subject: str | None
    message: Message | None = None
    problem: str | None = None  # why it could not be read
    found: Classified | None = None
    text: str | None = None
    addresses: list[str] = field(default_factory=list)
    attachments: list[dict[str, Any]] = field(default_factory=list)

    def record(self, now: Any) -> dict[str, Any]:
        """Its inbound row, before what is made of it."""
        imap = self.incoming.imap
        return {
            "received_at": now,
            "source": self.incoming.source,
            "imap_uidvalidity": imap[0] if imap else None,
            "imap_uid": imap[1] if imap else None,
            "message_id": self.message_id,
            "sender": self.sender,
            "subject": self.subject,
            "raw": self.incoming.raw,
            "_attachments": self.attachments,
        }


def read_message(incoming: Incoming, max_attachment: int) -> ReadMessage:
    """Everything about a message that needs no database. Whatever the input, this returns:
    what cannot be parsed or analysed is marked with the problem, to be quarantined."""
    message, problem = _parse(incoming.raw)
    read = ReadMessage(
        incoming,
        _message_id(message, incoming.raw),
        _sender(message),
        _subject(message),
        message,
        problem,
    )
    if message is None:
        return read
    if incoming.oversize is not None:
        read.message = None
        read.problem = (
            f"message trop volumineux ({french_number(incoming.oversize)} octets) : seul son "
            "en-tête est gardé ici, le message entier est resté dans la boîte aux lettres"
        )
        return read
    try:
        read.attachments = _attachments(message, max_attachment)
        read.found = classify(message)
        # What people are shown and what a reply records: a free text as the transitions'
        # fields take it (no control characters, a length), the raw message keeping the rest.
        read.text = fitted(NOTE, strip_quotes(body_text(message)))
        read.addresses = _addressed_to(message, incoming.recipients)
    except Exception as error:  # hostile or broken input must not stop the reader
        read.message, read.found, read.attachments = None, None, []
        read.problem = f"message illisible : {type(error).__name__}: {error}"
    return read


def references(message: Message) -> list[str]:
    """The Message-IDs the message answers (In-Reply-To, then References)."""
    referenced = []
    for header in ("In-Reply-To", "References"):
        referenced += _MESSAGE_IDS.findall(" ".join(map(str, message.get_all(header) or [])))
    return referenced


def _addressed_to(message: Message, recipients: tuple[str, ...]) -> list[str]:
    """Where the message went: the envelope's recipients, then the headers that say it."""
    addresses = list(recipients)
    for header in ("To", "Cc", "Delivered-To", "X-Original-To"):
        addresses += [a for _name, a in getaddresses(map(str, message.get_all(header) or []))]
    return addresses


def _parse(raw: bytes) -> tuple[Message | None, str | None]:
    """The message with its headers left as text (`compat32`): the default policy parses every
    header into objects on each access, which was a third of the time of taking a message in."""
    try:
        return email.message_from_bytes(raw, policy=email.policy.compat32), None
    except Exception as error:  # the parser is lenient; this is truly unreadable input
        return None, f"message illisible : {type(error).__name__}: {error}"


def _header(message: Message | None, name: str) -> str:
    """A header as readable text (RFC 2047 words decoded), "" if absent or undecodable."""
    if message is None:
        return ""
    value = message.get(name)
    if value is None:
        return ""
    try:
        return str(make_header(decode_header(str(value))))
    except Exception:
        return str(value)


def _message_id(message: Message | None, raw: bytes) -> str:
    """The message's Message-ID as stored, or a hash of its bytes when it has none that can be
    stored as it is: a control character or an undecodable byte in it would be cleaned on the
    way to the database, and then the key this batch compares (a second copy, a reader's
    retry) would no longer be the stored one."""
    found = _MESSAGE_IDS.search(_header(message, "Message-ID"))
    if found and _PLAIN_ID.fullmatch(found.group(0)):
        return found.group(0)[:250]
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@casework.no-message-id>"


def _sender(message: Message | None) -> str | None:
    address = parseaddr(_header(message, "From"))[1].strip().lower()
    return address or None


def _subject(message: Message | None) -> str | None:
    return _header(message, "Subject") or None


def body_text(message: Message) -> str:
    """The text part, or the HTML part as text; "" when there is neither or it cannot be read.
    Unknown charsets are read as UTF-8 with replacement characters."""
    found: dict[str, Message] = {}
    for part in message.walk():
        if part.is_multipart() or part.get_filename():
            continue  # containers and attachments
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html") and kind not in found:
            found[kind] = part
    part = found.get("text/plain") or found.get("text/html")
    if part is None:
        return ""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        content = payload.decode(charset, errors="replace")
    except LookupError:
        content = payload.decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        content = html_to_text(content)
    return content


def _attachments(message: Message, limit: int) -> list[dict[str, Any]]:
    """The message's files: kept up to `limit` bytes each; past it, their name and size only."""
    found = []
    for part in message.walk():
        if part.is_multipart() or not (part.get_filename() or part.get_content_disposition()):
            continue
        if (
            part.get_content_disposition() not in ("attachment", "inline")
            and not part.get_filename()
        ):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        found.append(
            {
                "filename": _decoded(part.get_filename()),
                "content_type": part.get_content_type()[:120],
                "size": len(data),
                "data": data if len(data) <= limit else None,
            }
        )
    return found


def _decoded(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(make_header(decode_header(value)))[:255]
    except Exception:
        return value[:255]


def html_to_text(html: str) -> str:
    """An HTML part as text: no scripts, styles or head; a line per block; what is quoted
    (inside <blockquote>) marked "> " as a plain-text client would, so that the quote stripper
    tells the quote from what was written above and under it. Read by the standard library's
    parser, in one pass whatever the input (the regular expressions it replaces took quadratic
    time on a message full of unclosed <script> tags)."""
    reader = _HtmlText()
    reader.feed(html)
    reader.close()
    return "".join(reader.parts)


class _HtmlText(HTMLParser):
    _SKIPPED = frozenset({"script", "style", "head"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.quoting = 0  # depth of <blockquote>
        self.quoted: list[str] = []  # the outermost quote's text, until it closes

    def handle_starttag(self, tag: str, _attrs: Any) -> None:
        if tag == "blockquote":
            self.quoting += 1
        elif tag in self._SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self._out("\n")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag == "br":
            self._out("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "blockquote":
            self.quoting = max(0, self.quoting - 1)
            if not self.quoting:
                self._quote()
        elif tag in self._SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BREAKS and tag != "br":
            self._out("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self._out(data)

    def close(self) -> None:
        super().close()
        self._quote()  # a quote never closed

    def _out(self, text: str) -> None:
        (self.quoted if self.quoting else self.parts).append(text)

    def _quote(self) -> None:
        lines = "".join(self.quoted).split("\n")
        self.quoted = []
        marked = [f"> {line.strip()}" for line in lines if line.strip()]
        if marked:
            self.parts.append("\n" + "\n".join(marked) + "\n")
