"""Taking in one message: store it, tell what it is, and act on it, in one transaction.

- *Once only*: a message is known by its Message-ID (or, without one, a hash of its bytes); a
  second delivery of the same message finds the first record and does nothing.
- *Nothing unproven moves a sheet*: a reply counts only if it names one of our mails (its
  `reply+<token>@` address, signed; failing that, In-Reply-To/References against our stored
  Message-IDs; never the subject) and comes from a contact of the partner that mail went to, or
  from the case's counsellor. Anything else is quarantined with its reason, for a person.
- *Automatic mail never counts* (RFC 3834 and friends): stored, ignored, never answered.
- *A bounce* marks our mail bounced, flags the partner contacts that failed as unreachable and
  tells the counsellor.
- *A reply to a sheet* acknowledges it when it waits for an acknowledgement, and gives feedback
  when it waits for feedback; the extracted text goes with the event. The counsellor can still
  correct the sheet by hand.

Readers (LMTP, IMAP) call `ingest` and acknowledge to their server only after it returned.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import re
from dataclasses import dataclass
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from casework.actors import Actor
from casework.app import App
from casework.errors import CaseworkError
from casework.inbound.alerts import AlertDesk
from casework.inbound.classify import Kind, classify
from casework.inbound.quotes import strip_quotes
from casework.models import (
    Case,
    InboundAttachment,
    InboundKind,
    InboundMail,
    InboundStatus,
    LiaisonSheet,
    MailStatus,
    OutboxMail,
    PartnerContact,
    User,
)
from casework.notify.links import LinkSigner
from casework.notify.sender import queue_failure_notice

log = logging.getLogger("casework.inbound")
INBOUND, OUTBOX = InboundMail.__table__, OutboxMail.__table__
ATTACHMENTS = InboundAttachment.__table__
SHEETS, CASES = LiaisonSheet.__table__, Case.__table__
CONTACTS, USERS = PartnerContact.__table__, User.__table__
_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
# What a reply does to a sheet, by the sheet's state.
REPLY_TRIGGERS = {"sent": "acknowledge", "overdue": "acknowledge", "acknowledged": "give_feedback"}


class InboundError(CaseworkError):
    """A person's request about inbound mail that cannot be done (said in French)."""


@dataclass(frozen=True)
class Ingested:
    id: int
    status: InboundStatus
    reason: str | None
    duplicate: bool = False


class Ingestor:
    def __init__(self, app: App, signer: LinkSigner | None = None):
        self.app = app
        self.settings = app.settings.mail
        self._signer = signer
        local = re.escape(self.settings.reply_local)
        domain = re.escape(self.settings.domain)
        self.reply_address = re.compile(rf"^{local}\+([a-z0-9-]+)@{domain}$", re.IGNORECASE)
        self.alerts = AlertDesk(app)

    @property
    def signer(self) -> LinkSigner:
        """Built when first needed (reviewing the quarantine needs no keys)."""
        if self._signer is None:
            self._signer = LinkSigner.from_settings(self.settings)
        return self._signer

    def ingest(
        self,
        raw: bytes,
        source: str,
        recipients: tuple[str, ...] = (),
        imap: tuple[int, int] | None = None,
    ) -> Ingested:
        """Store and act on one message; `recipients` are the envelope's (LMTP/SMTP), `imap`
        the mailbox's (UIDVALIDITY, UID)."""
        now = self.app.clock.now()
        message, unreadable = _parse(raw)
        message_id = _message_id(message, raw)
        same = INBOUND.c.message_id == message_id
        if imap is not None:
            same = or_(
                same, and_(INBOUND.c.imap_uidvalidity == imap[0], INBOUND.c.imap_uid == imap[1])
            )
        try:
            with self.app.db.transaction() as conn:
                known = _known(conn, same)
                if known is not None:
                    return Ingested(known.id, known.status, known.reason, duplicate=True)
                return self._take(
                    conn, raw, message, unreadable, message_id, source, recipients, now, imap
                )
        except IntegrityError:
            # Another reader took the same message meanwhile: theirs is the record.
            with self.app.db.read() as conn:
                known = _known(conn, same)
            if known is None:
                raise  # not a duplicate after all: let the reader retry
            return Ingested(known.id, known.status, known.reason, duplicate=True)

    # -- one message, one transaction -----------------------------------------------------------

    def _take(
        self,
        conn: Connection,
        raw: bytes,
        message: Message | None,
        unreadable: str | None,
        message_id: str,
        source: str,
        recipients: tuple[str, ...],
        now: Any,
        imap: tuple[int, int] | None,
    ) -> Ingested:
        sender = _sender(message)
        record: dict[str, Any] = {
            "received_at": now,
            "source": source,
            "imap_uidvalidity": imap[0] if imap else None,
            "imap_uid": imap[1] if imap else None,
            "message_id": message_id,
            "sender": sender,
            "subject": _subject(message),
            "raw": raw,
        }
        if message is not None:
            record["_attachments"] = _attachments(
                message, self.app.settings.inbound.max_attachment_bytes
            )
        if message is None:
            return self._store(
                conn, record, InboundKind.UNREADABLE, None, InboundStatus.QUARANTINED, unreadable
            )
        found = classify(message)
        text = strip_quotes(_body_text(message))
        if found.kind == Kind.BOUNCE:
            return self._bounce(conn, record, found.bounce, now)
        if found.kind == Kind.AUTO_REPLY:
            return self._store(
                conn, record, InboundKind.AUTO_REPLY, text, InboundStatus.IGNORED, found.reason
            )
        addresses = _addressed_to(message, recipients)
        mail = self._our_mail(conn, addresses, message)
        if mail is None and self.alerts.is_for_us(addresses):
            return self._alert(conn, record, message, text, now)
        if mail is None:
            return self._quarantine(
                conn,
                record,
                text,
                "ne répond à aucun de nos courriels (adresse de réponse ou références inconnues)",
            )
        record.update(outbox_id=mail.id, case_id=mail.case_id)
        if mail.entity != "liaison":
            return self._quarantine(
                conn, record, text, "réponse à un courriel qui n'attend pas de réponse"
            )
        record["sheet_id"] = mail.entity_id
        actor = self._allowed_sender(conn, sender, mail)
        if actor is None:
            return self._quarantine(
                conn,
                record,
                text,
                f"expéditeur {sender or 'inconnu'} : ni un contact du partenaire, ni le conseiller",
            )
        return self._answer(conn, record, text or "", mail.entity_id, actor)

    def _answer(
        self, conn: Connection, record: dict[str, Any], text: str, sheet_id: int, actor: Actor
    ) -> Ingested:
        state = conn.execute(select(SHEETS.c.state).where(SHEETS.c.id == sheet_id)).scalar_one()
        trigger = REPLY_TRIGGERS.get(state)
        if trigger is None:
            return self._quarantine(
                conn, record, text, f"la fiche n'attend plus de réponse (état {state})"
            )
        data = {"message": text} if trigger == "acknowledge" else {"feedback": text}
        if trigger == "give_feedback" and not text.strip():
            return self._quarantine(conn, record, text, "réponse vide : aucun retour à enregistrer")
        nested = conn.begin_nested()  # a refused transition must not lose the message
        try:
            done = self.app.engine.fire_sheet(sheet_id, trigger, actor, conn=conn, **data)
        except CaseworkError as error:
            nested.rollback()
            return self._quarantine(conn, record, text, f"{trigger} refusé : {error}")
        nested.commit()
        record["event_version"] = done.version
        log.info("reply %s from %s: sheet %s %s", record["message_id"], actor, sheet_id, trigger)
        return self._store(conn, record, InboundKind.ANSWER, text, InboundStatus.RECORDED, trigger)

    def _alert(
        self, conn: Connection, record: dict[str, Any], message: Message, text: str, now: Any
    ) -> Ingested:
        """A mail to the alert address: an alert on the case it names, or the quarantine.
        Names are looked for in the whole body (a forwarded mail is often the alert itself);
        people are shown the text without quotes, or the whole body when that is all there is."""
        body = _body_text(message)
        shown = text.strip() or body.strip()
        found = self.alerts.identify(conn, record["sender"], f"{record['subject'] or ''}\n{body}")
        record["case_id"] = found.case_id
        if found.case_id is None:
            return self._quarantine(conn, record, shown, found.reason or "alerte non identifiée")
        stored = self._store(
            conn,
            record,
            InboundKind.ANSWER,
            shown,
            InboundStatus.RECORDED,
            f"alerte sur le dossier n° {found.case_id}",
        )
        self.alerts.raise_alert(
            conn,
            case_id=found.case_id,
            inbound_id=stored.id,
            partner_id=found.partner_id,
            sender=record["sender"],
            subject=record["subject"],
            text=shown,
            identified_by=None,
            now=now,
        )
        return stored

    def _bounce(self, conn: Connection, record: dict[str, Any], bounce: Any, now: Any) -> Ingested:
        mail = None
        if bounce.original_message_id:
            mail = conn.execute(
                select(OUTBOX.c.id, OUTBOX.c.case_id, OUTBOX.c.entity, OUTBOX.c.entity_id).where(
                    OUTBOX.c.message_id == bounce.original_message_id
                )
            ).first()
        if mail is None or not bounce.failed:
            reason = "rapport de non-distribution sans courriel reconnu ni échec définitif"
            return self._store(
                conn, record, InboundKind.BOUNCE, None, InboundStatus.QUARANTINED, reason
            )
        failed = ", ".join(bounce.failed)
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == mail.id)
            .values(status=MailStatus.BOUNCED, last_error=f"revenu en erreur pour {failed}")
        )
        conn.execute(
            update(CONTACTS)
            .where(CONTACTS.c.email.in_([a.lower() for a in bounce.failed]))
            .values(unreachable=True)
        )
        queue_failure_notice(conn, mail.id, f"revenu en erreur pour {failed}", now)
        record.update(outbox_id=mail.id, case_id=mail.case_id)
        if mail.entity == "liaison":
            record["sheet_id"] = mail.entity_id
        log.warning("bounce for mail %s: %s unreachable", mail.id, failed)
        return self._store(conn, record, InboundKind.BOUNCE, None, InboundStatus.RECORDED, failed)

    # -- the quarantine, reviewed by a person ----------------------------------------------------

    def attach(self, inbound_id: int, sheet_id: int, actor: Actor) -> str:
        """A person says this quarantined message answers that sheet: it acknowledges or gives
        feedback, as a matched reply would; returns the trigger fired."""
        with self.app.db.transaction() as conn:
            record = self._quarantined(conn, inbound_id)
            state = conn.execute(
                select(SHEETS.c.state, SHEETS.c.case_id).where(SHEETS.c.id == sheet_id)
            ).first()
            if state is None:
                raise InboundError(f"fiche n° {sheet_id} inconnue")
            trigger = REPLY_TRIGGERS.get(state.state)
            if trigger is None:
                raise InboundError(
                    f"la fiche n° {sheet_id} n'attend pas de réponse ({state.state})"
                )
            text = record.text or ""
            data = {"message": text} if trigger == "acknowledge" else {"feedback": text}
            done = self.app.engine.fire_sheet(sheet_id, trigger, actor, conn=conn, **data)
            conn.execute(
                update(INBOUND)
                .where(INBOUND.c.id == inbound_id)
                .values(
                    status=InboundStatus.RECORDED,
                    sheet_id=sheet_id,
                    case_id=state.case_id,
                    event_version=done.version,
                    reason=f"rattaché à la fiche n° {sheet_id} par {actor}",
                )
            )
        log.info("inbound %s attached to sheet %s by %s (%s)", inbound_id, sheet_id, actor, trigger)
        return trigger

    def attach_alert(self, inbound_id: int, case_id: int, actor: Actor) -> int:
        """A person says this quarantined message is an alert about that case; returns the
        alert's number."""
        with self.app.db.transaction() as conn:
            record = self._quarantined(conn, inbound_id)
            self.alerts.check_can_alert(conn, case_id)
            if not record.sender:
                raise InboundError(f"le courriel reçu n° {inbound_id} n'a pas d'expéditeur")
            partners = AlertDesk._partners_of(conn, record.sender)
            alert_id = self.alerts.raise_alert(
                conn,
                case_id=case_id,
                inbound_id=inbound_id,
                partner_id=partners[0] if len(partners) == 1 else None,
                sender=record.sender,
                subject=record.subject,
                text=record.text or "",
                identified_by=actor,
                now=self.app.clock.now(),
            )
            conn.execute(
                update(INBOUND)
                .where(INBOUND.c.id == inbound_id)
                .values(
                    status=InboundStatus.RECORDED,
                    case_id=case_id,
                    reason=f"alerte sur le dossier n° {case_id}, rattachée par {actor}",
                )
            )
        log.info(
            "inbound %s attached as alert %s on case %s by %s", inbound_id, alert_id, case_id, actor
        )
        return alert_id

    def reject(self, inbound_id: int, actor: Actor, reason: str) -> None:
        with self.app.db.transaction() as conn:
            self._quarantined(conn, inbound_id)
            conn.execute(
                update(INBOUND)
                .where(INBOUND.c.id == inbound_id)
                .values(status=InboundStatus.REJECTED, reason=f"écarté par {actor} : {reason}")
            )
        log.info("inbound %s rejected by %s: %s", inbound_id, actor, reason)

    @staticmethod
    def _quarantined(conn: Connection, inbound_id: int) -> Any:
        query = select(INBOUND).where(INBOUND.c.id == inbound_id)
        record = conn.execute(query).first()
        if record is None:
            raise InboundError(f"courriel reçu n° {inbound_id} inconnu")
        if record.status != InboundStatus.QUARANTINED:
            raise InboundError(f"le courriel reçu n° {inbound_id} n'est pas en quarantaine")
        return record

    # -- matching ----------------------------------------------------------------------------------

    def _our_mail(self, conn: Connection, addresses: list[str], message: Message) -> Any:
        """Our mail this one answers: by its signed reply address first, then by references."""
        columns = (OUTBOX.c.id, OUTBOX.c.case_id, OUTBOX.c.entity, OUTBOX.c.entity_id)
        for address in addresses:
            match = self.reply_address.match(address.strip())
            mail_id = self.signer.check_reply_token(match.group(1)) if match else None
            if mail_id is not None:
                found = conn.execute(select(*columns).where(OUTBOX.c.id == mail_id)).first()
                if found is not None:
                    return found
        referenced = []
        for header in ("In-Reply-To", "References"):
            referenced += _MESSAGE_IDS.findall(" ".join(map(str, message.get_all(header) or [])))
        ours = [m for m in referenced if m.endswith(f"@{self.settings.domain}>")]
        if ours:
            return conn.execute(
                select(*columns).where(OUTBOX.c.message_id.in_(ours)).order_by(OUTBOX.c.id.desc())
            ).first()
        return None

    @staticmethod
    def _allowed_sender(conn: Connection, sender: str | None, mail: Any) -> Actor | None:
        """A contact of the partner the sheet went to (as that partner), or the counsellor."""
        if not sender:
            return None
        contact = conn.execute(
            select(CONTACTS.c.email)
            .join(SHEETS, SHEETS.c.partner_id == CONTACTS.c.partner_id)
            .where(SHEETS.c.id == mail.entity_id, CONTACTS.c.email == sender)
        ).first()
        if contact is not None:
            return Actor.partner(sender)
        login = conn.execute(
            select(USERS.c.login)
            .join(CASES, CASES.c.referent == USERS.c.login)
            .where(CASES.c.id == mail.case_id, USERS.c.email == sender)
        ).scalar()
        return Actor.person(login) if login else None

    # -- storing ---------------------------------------------------------------------------------

    def _quarantine(
        self, conn: Connection, record: dict[str, Any], text: str | None, reason: str
    ) -> Ingested:
        return self._store(
            conn, record, InboundKind.ANSWER, text, InboundStatus.QUARANTINED, reason
        )

    @staticmethod
    def _store(
        conn: Connection,
        record: dict[str, Any],
        kind: InboundKind,
        text: str | None,
        status: InboundStatus,
        reason: str | None,
    ) -> Ingested:
        attachments = record.pop("_attachments", [])
        values = {**record, "kind": kind, "text": text, "status": status, "reason": reason}
        for name in ("text", "subject", "sender", "reason"):
            if values.get(name):
                # NUL cannot be stored in a PostgreSQL text column; the raw bytes keep it.
                values[name] = values[name].replace("\x00", "")
        inbound_id = conn.execute(insert(INBOUND).returning(INBOUND.c.id), values).scalar_one()
        if attachments:
            conn.execute(
                insert(ATTACHMENTS), [{**a, "inbound_id": inbound_id} for a in attachments]
            )
        if status == InboundStatus.QUARANTINED:
            log.warning("inbound %s quarantined: %s", inbound_id, reason)
        return Ingested(inbound_id, status, reason)


# -- reading a message -----------------------------------------------------------------------------


def _known(conn: Connection, same: Any) -> Any:
    """The record of a message already taken in, if any."""
    query = select(INBOUND.c.id, INBOUND.c.status, INBOUND.c.reason).where(same)
    return conn.execute(query).first()


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
    found = _MESSAGE_IDS.search(_header(message, "Message-ID"))
    if found:
        return found.group(0)[:250]
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@casework.no-message-id>"


def _sender(message: Message | None) -> str | None:
    address = parseaddr(_header(message, "From"))[1].strip().lower()
    return address or None


def _subject(message: Message | None) -> str | None:
    return _header(message, "Subject") or None


def _body_text(message: Message) -> str:
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
        content = _html_to_text(content)
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


def _html_to_text(html: str) -> str:
    from html import unescape

    html = re.sub(r"(?is)<(script|style|head).*?</\1>", "", html)
    html = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>", "\n", html)
    html = re.sub(r"(?i)<blockquote.*", "", html, flags=re.DOTALL)  # the quoted original
    return unescape(re.sub(r"<[^>]+>", "", html))
