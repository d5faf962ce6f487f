"""What kind of mail came in: a person's answer, an automatic reply, or a delivery failure.

Only a person's answer may move a sheet. Machine mail never does, whatever it contains:
- a *bounce*: a delivery report anywhere in the message (RFC 3464), or mail from a mail system
  (`MAILER-DAEMON`, `postmaster`…) or with a delivery failure's subject, read for the addresses
  that failed (`reports.py`); a bounce that names none is still a bounce (quarantined);
- an *automatic reply*: out of office and other automatic mail (RFC 3834 `Auto-Submitted`,
  `X-Autoreply`, `Precedence`, Exchange's headers, subjects in several languages), feedback
  loop reports (ARF);
- anything else from a null sender (`Return-Path: <>`) is a mail system's notice: a bounce.
Nothing here answers any mail: no loops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.header import Header, decode_header
from email.message import Message
from enum import StrEnum
from typing import Any

from casework.inbound.reports import Bounce, delivery_status, other_formats

__all__ = ["Bounce", "Classified", "Kind", "classify"]


class Kind(StrEnum):
    ANSWER = "answer"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True)
class Classified:
    kind: Kind
    reason: str
    bounce: Bounce | None = field(default=None)


# Subjects of out-of-office replies, in the languages partners' mail systems use.
_AUTO_SUBJECTS = re.compile(
    r"^\s*(réponse automatique|reponse automatique|absence du bureau|absent du bureau|"
    r"message d'absence|message d’absence|auto(matic)?[ -]?reply|out of (the )?office|"
    r"autoreply|abwesenheit|automatische antwort|automatisch antwoord|afwezig|"
    r"respuesta automática|fuera de la oficina|risposta automatica|fuori sede|"
    r"resposta automática|ausente|odpowiedź automatyczna|autosvar|automatiskt svar|"
    r"frånvaro|poza biurem|vacation|on vacation|congés|atvaļinājums|atvalinajums|"
    r"ārpus biroja|arpus biroja)",
    re.IGNORECASE,
)
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}

# Mail systems' own addresses (local parts), which never write as a person: in From, Sender
# or Return-Path, as `name@host`, `<name@host>` or the bare name.
_MAIL_SYSTEMS = re.compile(
    r"(?:^|[\s<\"(,])(?:mailer-daemon|postmaster|mdaemon|mail\.?delivery\.?system|"
    r"mail-delivery-system|mail-delivery-subsystem|ndr|bounces?)(?:@|>|\s*$)",
    re.IGNORECASE,
)
_SYSTEM_HEADERS = ("from", "sender", "return-path")
# Subjects of delivery failures and delays, as servers write them (English, French, German,
# Dutch, Italian, Spanish, Scandinavian).
_FAILURE_SUBJECTS = re.compile(
    r"undeliver(able|ed)|undelivered mail|delivery (status notification|failure|failed|has failed"
    r"|report|problem|notification)|mail delivery (failed|failure|problem|warning)|"
    r"failure (notice|delivery)|returned mail|(could not|cannot|can't) be delivered|"
    r"mail not delivered|non[- ]?delivery|nondeliverable|message delayed|delayed mail|"
    r"failed mail|^\s*mail error\b|permanent delivery failure|mail system error|"
    r"nicht zugestellt|unzustellbar|non remis|non-remise|non distribu|impossible de remettre|"
    r"échec de (la )?(remise|distribution)|utilisateur non recens|onbestelbaar|"
    r"non recapitabile|no se (ha podido|puede) entregar|olevererbart|kan ikke leveres",
    re.IGNORECASE,
)


def classify(message: Message, library: bool = True) -> Classified:
    """What the message is. `library=False` reads delivery notices without flufl.bounce (to
    measure what it adds). Each header is looked up once (a message's `get` scans them all)."""
    headers: dict[str, Any] = {}
    for name, value in message.items():
        headers.setdefault(name.lower(), value)  # the first, as `Message.get` gives it
    types = {part.get_content_type() for part in message.walk()}
    bounce = delivery_status(message) if "message/delivery-status" in types else None
    if bounce is not None and (bounce.failed or bounce.delayed or not library):
        return Classified(Kind.BOUNCE, "rapport de non-distribution (RFC 3464)", bounce)
    if _feedback_report(headers, types):
        return Classified(Kind.AUTO_REPLY, "rapport de plainte d'un destinataire (ARF)")
    subject = _subject(headers.get("subject", ""))
    machine = bounce is not None or _from_a_mail_system(headers)
    if machine or _FAILURE_SUBJECTS.search(subject):
        found = other_formats(message) if library else bounce or Bounce()
        return Classified(Kind.BOUNCE, "rapport de non-distribution d'un serveur", found)
    reason = _automatic(headers, subject)
    if reason is not None:
        return Classified(Kind.AUTO_REPLY, reason)
    if _null_sender(headers):  # and no sign of an automatic reply: a mail system's notice
        found = other_formats(message) if library else Bounce()
        return Classified(Kind.BOUNCE, "avis d'un serveur de messagerie (expéditeur vide)", found)
    return Classified(Kind.ANSWER, "réponse d'une personne")


def _feedback_report(headers: dict[str, Any], types: set[str]) -> bool:
    """A feedback-loop report (RFC 5965): someone marked our mail as unwanted."""
    if "message/feedback-report" in types:
        return True
    content_type = str(headers.get("content-type", "")).lower()
    return "multipart/report" in types and "feedback-report" in content_type


def _from_a_mail_system(headers: dict[str, Any]) -> bool:
    return any(_MAIL_SYSTEMS.search(str(headers.get(h, ""))) for h in _SYSTEM_HEADERS)


def _subject(value: Any) -> str:
    """The subject as people read it: RFC 2047 words decoded, raw 8-bit read as UTF-8."""
    if isinstance(value, str) and "=?" not in value:
        return value
    try:
        words = decode_header(value if isinstance(value, Header) else str(value))
        return "".join(_word(word, charset) for word, charset in words)
    except Exception:  # an undecodable header: read it as it came
        return str(value)


def _word(word: bytes | str, charset: str | None) -> str:
    if isinstance(word, str):
        return word
    try:
        return word.decode(charset if charset and charset != "unknown-8bit" else "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return word.decode("utf-8", "replace")


def _null_sender(headers: dict[str, Any]) -> bool:
    """`Return-Path: <>` (the envelope's null sender, RFC 5321) or a From without address."""
    return_path = headers.get("return-path")
    if return_path is not None and str(return_path).strip() in ("<>", ""):
        return True
    return "<>" in str(headers.get("from", ""))


def _automatic(headers: dict[str, Any], subject: str) -> str | None:
    auto_submitted = str(headers.get("auto-submitted", "")).strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted: {auto_submitted}"  # RFC 3834
    for header in ("X-Autoreply", "X-Autorespond", "X-Auto-Reply"):
        if header.lower() in headers:
            return f"{header} présent"
    precedence = str(headers.get("precedence", "")).strip().lower()
    if precedence in _BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    # Exchange: its out-of-office and rule replies.
    if "x-ms-exchange-generated-message-source" in headers:
        return "réponse générée par Exchange"
    if str(headers.get("x-auto-response-suppress", "")).strip().lower() == "all":
        return "X-Auto-Response-Suppress: All"
    if "list-id" in headers or "list-unsubscribe" in headers:
        return "envoi d'une liste de diffusion"
    if _AUTO_SUBJECTS.match(subject):
        return f"objet de réponse automatique : {subject.strip()[:80]}"
    return None
