"""What kind of mail came in: a person's answer, an automatic reply, or a delivery failure.

Only a person's answer may move a sheet. An automatic reply (out of office, a list, a robot) is
stored but never counts; a bounce (an RFC 3464 delivery report) says which of our mails did not
arrive and for whom. Nothing here answers any mail: no loops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message
from enum import StrEnum


class Kind(StrEnum):
    ANSWER = "answer"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Bounce:
    """What a delivery report says: our Message-ID it is about (if it says), and the addresses
    that failed for good (status 5.x.x)."""

    original_message_id: str | None
    failed: tuple[str, ...] = ()
    delayed: tuple[str, ...] = ()  # 4.x.x: a warning, the relay keeps trying


@dataclass(frozen=True)
class Classified:
    kind: Kind
    reason: str
    bounce: Bounce | None = field(default=None)


# Subjects of out-of-office replies, French and English (clients translate them).
_AUTO_SUBJECTS = re.compile(
    r"^\s*(réponse automatique|reponse automatique|absence du bureau|absent du bureau|"
    r"message d'absence|message d’absence|auto(matic)?[ -]?reply|out of (the )?office|"
    r"autoreply|abwesenheit)",
    re.IGNORECASE,
)
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}


def classify(message: Message) -> Classified:
    bounce = _delivery_report(message)
    if bounce is not None:
        return Classified(Kind.BOUNCE, "rapport de non-distribution (RFC 3464)", bounce)
    reason = _automatic(message)
    if reason is not None:
        return Classified(Kind.AUTO_REPLY, reason)
    return Classified(Kind.ANSWER, "réponse d'une personne")


def _automatic(message: Message) -> str | None:
    auto_submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"  # RFC 3834
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if message.get(header) is not None:
            return f"{header} présent"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    # Exchange: its out-of-office and rule replies.
    if message.get("X-MS-Exchange-Generated-Message-Source") is not None:
        return "réponse générée par Exchange"
    if str(message.get("X-Auto-Response-Suppress", "")).strip().lower() == "all":
        return "X-Auto-Response-Suppress: All"
    if message.get("List-Id") is not None or message.get("List-Unsubscribe") is not None:
        return "envoi d'une liste de diffusion"
    subject = str(message.get("Subject", ""))
    if _AUTO_SUBJECTS.match(subject):
        return f"objet de réponse automatique : {subject.strip()[:80]}"
    return None


def _delivery_report(message: Message) -> Bounce | None:
    """The delivery-status part of a multipart/report, read field by field."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return None
    failed: list[str] = []
    delayed: list[str] = []
    original: str | None = None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _status_blocks(part):
                recipient = _address_of(
                    block.get("final-recipient") or block.get("original-recipient")
                )
                action = (block.get("action") or "").strip().lower()
                status = (block.get("status") or "").strip()
                if not recipient:
                    continue
                if action == "failed" or status.startswith("5"):
                    failed.append(recipient)
                elif action == "delayed" or status.startswith("4"):
                    delayed.append(recipient)
        elif kind in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            original = original or _original_message_id(part)
    return Bounce(original, tuple(failed), tuple(delayed))


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
    if not field_value:
        return None
    _type, _, address = field_value.partition(";")
    address = (address or _type).strip().strip("<>").lower()
    return address or None


def _original_message_id(part: Message) -> str | None:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner:
            value = inner[0].get("Message-ID")
            return str(value).strip() if value else None
        return None
    text = part.get_payload(decode=True) or b""
    match = re.search(rb"^Message-ID:\s*(<[^>\r\n]+>)", text, re.IGNORECASE | re.MULTILINE)
    return match.group(1).decode("ascii", "replace") if match else None
