"""Reading a delivery failure notice: which addresses failed, which are only delayed, and the
Message-IDs of the mail it is about. Pure: no database, no keys.

- An RFC 3464 report is read wherever its `message/delivery-status` part is (in a
  `multipart/report` with or without `report-type`, or wrapped in a `multipart/mixed`); each
  recipient by its `Original-Recipient` (the address the sender gave: the one we mailed) before
  its `Final-Recipient` (which may be an internal alias it expanded to); failed if its action
  says so or its status is 5.x.x, delayed (a warning: the relay keeps trying) if 4.x.x.
- The other formats (qmail, Exchange, Yahoo, Exim and Postfix in plain text, GroupWise…) are
  read by flufl.bounce's detectors, Mailman's, maintained apart (`library=False` leaves them
  out, to measure what they add: `bench/bounce_corpus.py`). They cost milliseconds a message,
  so they are asked only about mail already known to come from a machine.
- Addresses are lowercased and deduplicated; an address both failed and delayed is failed.
- The mail it is about: the Message-IDs of the quoted original (a `message/rfc822` part, its
  headers in a `text/rfc822-headers` part, or `Message-ID:` lines quoted in the text), then the
  notice's own In-Reply-To/References. Who may be flagged is decided later, against that very
  mail's recipients (`bounces.py`): nothing here is trusted alone.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from email.message import Message

from flufl.bounce import all_failures

log = logging.getLogger("casework.inbound")

_MESSAGE_ID_LINE = re.compile(
    r"^[ \t>]*Message-ID:[ \t]*(<[^<>\s]{3,250}>)", re.IGNORECASE | re.MULTILINE
)
_MESSAGE_IDS = re.compile(r"<[^<>\s]{3,250}>")
_QUOTED_HEADERS = ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers")
_TEXT_READ = 200_000  # characters of a text part searched for quoted Message-IDs


@dataclass(frozen=True)
class Bounce:
    """What a delivery notice says: the Message-IDs of the mail it may be about (ours among
    them, if it is about ours), the addresses that failed for good, those only delayed."""

    original_message_ids: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    delayed: tuple[str, ...] = ()


def delivery_status(message: Message) -> Bounce | None:
    """The notice's RFC 3464 part read, wherever it is; None without one."""
    parts = [p for p in message.walk() if p.get_content_type() == "message/delivery-status"]
    if not parts:
        return None
    failed: list[str] = []
    delayed: list[str] = []
    for part in parts:
        for block in _status_blocks(part):
            recipient = _address_of(block.get("original-recipient")) or _address_of(
                block.get("final-recipient")
            )
            if not recipient:
                continue
            outcome = _outcome(block)
            if outcome == "failed":
                failed.append(recipient)
            elif outcome == "delayed":
                delayed.append(recipient)
    return _bounce(message, failed, delayed)


def other_formats(message: Message) -> Bounce:
    """A notice in no standard format, read by flufl.bounce's detectors."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector tripping on hostile input is not our reader's failure
        log.warning("inbound: flufl.bounce could not read a notice", exc_info=True)
        temporary, permanent = set(), set()
    return _bounce(message, _decoded(permanent), _decoded(temporary))


def quoted_message_ids(message: Message) -> tuple[str, ...]:
    """The Message-IDs the notice quotes (its original's), then those it refers to."""
    found: list[str] = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and inner[0].get("Message-ID"):
                found += _MESSAGE_IDS.findall(str(inner[0]["Message-ID"]))[:1]
        elif kind in _QUOTED_HEADERS or kind == "text/plain":
            text = part.get_payload(decode=True)
            if isinstance(text, bytes):
                found += _MESSAGE_ID_LINE.findall(text[:_TEXT_READ].decode("latin-1"))
    for header in ("In-Reply-To", "References"):
        found += _MESSAGE_IDS.findall(" ".join(map(str, message.get_all(header) or [])))
    own = str(message.get("Message-ID", "")).strip()
    return tuple(m for m in dict.fromkeys(found) if m != own)


def _bounce(message: Message, failed: list[str], delayed: list[str]) -> Bounce:
    failed_once = tuple(dict.fromkeys(failed))
    delayed_once = tuple(a for a in dict.fromkeys(delayed) if a not in failed_once)
    return Bounce(quoted_message_ids(message), failed_once, delayed_once)


def _outcome(block: dict[str, str]) -> str | None:
    """failed, delayed, or None (delivered, relayed, expanded: nothing to say)."""
    action = (block.get("action") or "").strip().lower()
    status = (block.get("status") or "").strip()
    if action.startswith("fail"):  # "failed"; some servers write "failure"
        return "failed"
    if action == "delayed":
        return "delayed"
    if action in ("delivered", "relayed", "expanded"):
        return None
    if status.startswith("5"):
        return "failed"
    if status.startswith("4"):
        return "delayed"
    return None


def _status_blocks(part: Message) -> list[dict[str, str]]:
    """message/delivery-status: one block per message, then one per recipient (RFC 3464)."""
    payload = part.get_payload()
    blocks: list[dict[str, str]] = []
    if isinstance(payload, list):  # the parser splits it into header blocks
        for block in payload:
            blocks.append({k.lower(): str(v) for k, v in block.items()})
        return blocks
    current: dict[str, str] = {}
    for line in str(payload).splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
                current = {}
            continue
        name, _, value = line.partition(":")
        current[name.strip().lower()] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _address_of(field_value: str | None) -> str | None:
    """`rfc822; someone@example.org` (the type is optional in practice): the address."""
    if not field_value:
        return None
    _type, _, address = field_value.partition(";")
    address = (address or _type).strip().strip("<>").strip().lower()
    return address if "@" in address and " " not in address else None


def _decoded(addresses: set[bytes]) -> list[str]:
    found = (a.decode("utf-8", "replace").strip().strip("<>").lower() for a in addresses)
    return sorted(a for a in found if "@" in a)
