"""Taking in messages: store each, tell what it is, and act on it, a batch in one transaction.

- *Once only*: a message is known by its Message-ID (or, without one, a hash of its bytes), and
  by its mailbox's (UIDVALIDITY, UID) when read over IMAP; a second delivery of the same message
  finds the first record and does nothing. Two readers taking the same message at once: the
  unique indexes let one commit; the other's whole batch rolls back and is read again, finding
  that message known.
- *Nothing unproven moves a sheet*: a reply counts only if it names one of our mails (its
  `reply+<token>@` address, signed; failing that, In-Reply-To/References against our stored
  Message-IDs; never the subject) and comes from a contact of the partner that mail went to, or
  from the case's counsellor. Anything else is quarantined with its reason, for a person.
- *Automatic mail never counts* (RFC 3834 and friends): stored, ignored, never answered.
- *A bounce* marks our mail bounced, flags the partner contacts that failed as unreachable and
  tells the counsellor; a later reply that counts, from such an address, clears the flag.
- *A reply to a sheet* acknowledges it when it waits for an acknowledgement, and gives feedback
  when it waits for feedback; the extracted text goes with the event. The counsellor can still
  correct the sheet by hand. Two replies to one sheet in one batch act in turn, as if one by one.
- *A mail to the alert address* becomes an alert on the case it names (`alerts.py`).
- *Bad input never stops a reader*: what cannot be parsed or analysed is stored and quarantined
  with its reason; only a failing database makes a batch fail (and its reader try it again).

Readers call `ingest` (LMTP: one message) or `ingest_many` (IMAP: one fetch) and acknowledge to
their server only after it returned, that is after the commit.

Why batches: taking a reply in costs about fifteen statements; a batch reads what its messages
need with a few set-based queries and fires all its sheets' transitions together
(`Engine.fire_each`), which on PostgreSQL divides the round trips per message several times.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from email.message import Message
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import Connection, String, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from casework.actors import Actor
from casework.app import App
from casework.engine.engine import FireRequest
from casework.errors import CaseworkError, error_kind
from casework.inbound.alerts import AlertDesk
from casework.inbound.classify import Classified, Kind, classify
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
from casework.states.definition import ReplyDef, WorkflowDef
from casework.text_limits import NOTE, fitted, french_number, shown

log = logging.getLogger("casework.inbound")
INBOUND, OUTBOX = InboundMail.__table__, OutboxMail.__table__
ATTACHMENTS = InboundAttachment.__table__
SHEETS, CASES = LiaisonSheet.__table__, Case.__table__
CONTACTS, USERS = PartnerContact.__table__, User.__table__
_MESSAGE_IDS = re.compile(r"<[^<>\s]+>")
# A Message-ID kept as it is: no control character, no surrogate (RFC 5322 and 6532 allow none).
_PLAIN_ID = re.compile(r"[^\x00-\x20\x7f-\x9f\ud800-\udfff]+")
MAIL_COLUMNS = (OUTBOX.c.id, OUTBOX.c.case_id, OUTBOX.c.entity, OUTBOX.c.entity_id)
ATTEMPTS = 3  # a batch read again after another reader took one of its messages
CHUNK = 500  # values per IN (...) list
NOT_OURS = "ne répond à aucun de nos courriels (adresse de réponse ou références inconnues)"


class InboundError(CaseworkError):
    """A person's request about inbound mail that cannot be done (said in French)."""


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


@dataclass(frozen=True)
class Ingested:
    id: int
    status: InboundStatus
    reason: str | None
    duplicate: bool = False


@dataclass
class _Read:
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


@dataclass
class _Reply:
    """A message that names one of our mails to a sheet, on its way to the sheet."""

    at: int  # its place in the batch
    record: dict[str, Any]
    text: str
    sheet_id: int
    actor: Actor


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
        """Store and act on one message (a batch of one)."""
        return self.ingest_many([Incoming(raw, source, recipients, imap)])[0]

    def ingest_many(self, batch: Sequence[Incoming]) -> list[Ingested]:
        """Store and act on each message, in one transaction; one result per message, in order.

        A batch the database refuses (a message no check foresaw) is taken again one message at
        a time, so that only the bad one is set aside: kept raw in the quarantine, with the
        database's reason (`_refused`). Raises only when the database itself is failing (lost,
        locked): then nothing of the batch is written, and its reader tries again later."""
        if not batch:
            return []
        read = [_read(incoming, self._max_attachment) for incoming in batch]
        try:
            return self._attempt(read)
        except Exception as error:
            if _outage(error):
                raise
            if len(read) == 1:
                return [self._refused(read[0], error)]
            log.warning(
                "inbound: a batch of %s message(s) failed (%s); taking them one by one",
                len(read),
                error_kind(error),
            )
        return [self._one_of_a_failed_batch(r) for r in read]

    def _attempt(self, read: list[_Read]) -> list[Ingested]:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with self.app.db.transaction() as conn:
                    return self._take(conn, read, self.app.clock.now())
            except IntegrityError:
                # Another reader committed one of these messages meanwhile (the unique indexes
                # made us wait for it, then refused ours): read the batch again, it is known now.
                if attempt == ATTEMPTS:
                    raise
                log.info("inbound: another reader took one of %s message(s); again", len(read))
        raise AssertionError("unreachable")

    def _one_of_a_failed_batch(self, read: _Read) -> Ingested:
        try:
            return self._attempt([read])[0]
        except Exception as error:
            if _outage(error):
                raise
            return self._refused(read, error)

    def _refused(self, read: _Read, error: Exception) -> Ingested:
        """What was made of this message could not be written: keep the message itself, raw,
        in the quarantine, with only the kind of error as its reason (the error's text may
        quote what the message holds). If even that cannot be written, the database is
        failing: the error goes up and the reader tries again later. Its keys (Message-ID,
        IMAP UID) are what a second copy is recognised by; should they be what the database
        still refuses, the last attempt stores the message without them rather than lose it or
        stop its reader."""
        log.error(
            "inbound %s: could not be written (%s); kept raw in quarantine",
            shown(read.message_id),
            error_kind(error),
        )
        reason = f"la base de données a refusé ce message ({error_kind(error)}) : à examiner"
        record = {**read.record(self.app.clock.now()), "_attachments": []}
        for attempt in range(1, ATTEMPTS + 1):
            if attempt == ATTEMPTS:
                record.update(message_id=None, imap_uidvalidity=None, imap_uid=None)
            try:
                with self.app.db.transaction() as conn:
                    seen = _known_many(conn, [read])
                    found = seen.get(read.message_id) or seen.get(read.incoming.imap)
                    if found is not None:
                        return Ingested(found.id, found.status, found.reason, duplicate=True)
                    row = _row(
                        record, InboundKind.UNREADABLE, None, InboundStatus.QUARANTINED, reason
                    )
                    (inbound_id,) = _insert(conn, [row])
                    return Ingested(inbound_id, InboundStatus.QUARANTINED, reason)
            except IntegrityError:
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    @property
    def _max_attachment(self) -> int:
        return self.app.settings.inbound.max_attachment_bytes

    # -- a batch, one transaction ----------------------------------------------------------------

    def _take(self, conn: Connection, batch: list[_Read], now: Any) -> list[Ingested]:
        results: list[Ingested | None] = [None] * len(batch)
        rows: dict[int, dict[str, Any]] = {}  # place → inbound row, inserted together at the end
        known = _known_many(conn, batch)
        first: dict[str, int] = {}  # Message-ID → place of its first copy in this batch
        later: list[tuple[int, int]] = []
        answers: list[int] = []
        for at, read in enumerate(batch):
            seen = known.get(read.message_id) or (
                known.get(read.incoming.imap) if read.incoming.imap else None
            )
            if seen is not None:
                results[at] = Ingested(seen.id, seen.status, seen.reason, duplicate=True)
            elif read.message_id in first:
                later.append((at, first[read.message_id]))
            else:
                first[read.message_id] = at
                found = read.found
                record = read.record(now)
                if read.message is None or found is None:
                    rows[at] = _row(
                        record,
                        InboundKind.UNREADABLE,
                        None,
                        InboundStatus.QUARANTINED,
                        read.problem,
                    )
                elif found.kind == Kind.BOUNCE:
                    bounce = found.bounce
                    results[at] = self._alone(
                        conn, read, now, lambda r=record, b=bounce: self._bounce(conn, r, b, now)
                    )
                elif found.kind == Kind.AUTO_REPLY:
                    rows[at] = _row(
                        record,
                        InboundKind.AUTO_REPLY,
                        read.text,
                        InboundStatus.IGNORED,
                        found.reason,
                    )
                else:
                    answers.append(at)
        replies = self._answers(conn, batch, answers, rows, results, now)
        self._fire(conn, replies, rows)
        places = sorted(rows)  # records in the batch's order
        for at, inbound_id in zip(places, _insert(conn, [rows[at] for at in places]), strict=True):
            row = rows[at]
            results[at] = Ingested(inbound_id, row["status"], row["reason"])
            if row["status"] == InboundStatus.QUARANTINED:
                log.warning("inbound %s quarantined: %s", inbound_id, shown(row["reason"], 200))
        for at, copy_of in later:
            taken = results[copy_of]
            assert taken is not None
            results[at] = Ingested(taken.id, taken.status, taken.reason, duplicate=True)
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _answers(
        self,
        conn: Connection,
        batch: list[_Read],
        answers: list[int],
        rows: dict[int, dict[str, Any]],
        results: list[Ingested | None],
        now: Any,
    ) -> list[_Reply]:
        """Messages written by people: matched to our mails and their senders checked; those
        that answer a sheet are returned, the others quarantined (or alerts)."""
        mails = self._our_mails(conn, [batch[at] for at in answers])
        senders = self._senders(
            conn,
            {
                (mail, batch[at].sender)
                for at, mail in zip(answers, mails, strict=True)
                if mail is not None and mail.entity == "liaison" and batch[at].sender
            },
        )
        replies = []
        for at, mail in zip(answers, mails, strict=True):
            read = batch[at]
            record = read.record(now)
            text = read.text or ""
            if mail is None and self.alerts.is_for_us(read.addresses):
                results[at] = self._alone(
                    conn,
                    read,
                    now,
                    lambda r=record, m=read.message, t=text: self._alert(conn, r, m, t, now),
                )
                continue
            if mail is None:
                rows[at] = _quarantined(record, text, NOT_OURS)
                continue
            record.update(outbox_id=mail.id, case_id=mail.case_id)
            if mail.entity != "liaison":
                reason = "réponse à un courriel qui n'attend pas de réponse"
                rows[at] = _quarantined(record, text, reason)
                continue
            record["sheet_id"] = mail.entity_id
            actor = senders.get((mail.entity_id, read.sender or ""))
            if actor is None:
                who = read.sender or "inconnu"
                reason = f"expéditeur {who} : ni un contact du partenaire, ni le conseiller"
                rows[at] = _quarantined(record, text, reason)
                continue
            replies.append(_Reply(at, record, text, mail.entity_id, actor))
        return replies

    def _fire(
        self, conn: Connection, replies: list[_Reply], rows: dict[int, dict[str, Any]]
    ) -> None:
        """Each reply acknowledges or gives feedback, by its sheet's state. A sheet answered
        twice in the batch is answered in turn, in the batch's order: one reply per sheet per
        round, each round seeing the states the previous one left."""
        flows = _sheets(conn, {r.sheet_id for r in replies})  # state and workflow
        states = {sheet_id: row.state for sheet_id, row in flows.items()}
        waiting = replies
        while waiting:
            this_round: list[_Reply] = []
            next_round: list[_Reply] = []
            for reply in waiting:
                busy = any(r.sheet_id == reply.sheet_id for r in this_round)
                (next_round if busy else this_round).append(reply)
            waiting = next_round
            requests, asked = [], {}
            for reply in this_round:
                state = states.get(reply.sheet_id)
                flow = self._sheet_workflow(flows.get(reply.sheet_id))
                answer = flow.replies.get(state or "")  # the file's `replies:`
                if answer is None:
                    reason = f"la fiche n'attend plus de réponse ({self._sheet_state(state)})"
                    rows[reply.at] = _quarantined(reply.record, reply.text, reason)
                elif flow.reply_needs_text(answer) and not reply.text.strip():
                    reason = "réponse vide : aucun retour à enregistrer"
                    rows[reply.at] = _quarantined(reply.record, reply.text, reason)
                else:
                    data = {answer.field: reply.text}
                    requests.append(FireRequest(reply.sheet_id, answer.trigger, reply.actor, data))
                    asked[reply.sheet_id] = (reply, answer)
            if not requests:
                continue
            done = self.app.engine.fire_each("liaison", requests, conn=conn)
            _reachable_again(
                conn,
                {
                    asked[moved.entity_id][0].actor.id
                    for moved in done.applied
                    if asked[moved.entity_id][0].actor.kind_value == "partner"
                },
            )
            for moved in done.applied:
                reply, answer = asked[moved.entity_id]
                states[moved.entity_id] = moved.dest
                reply.record["event_version"] = moved.version
                rows[reply.at] = _row(
                    reply.record,
                    InboundKind.ANSWER,
                    reply.text,
                    InboundStatus.RECORDED,
                    answer.says,
                )
                log.info(
                    "reply %s from %s: sheet %s %s",
                    reply.record["message_id"],
                    reply.actor,
                    moved.entity_id,
                    answer.trigger,
                )
            not_moved: list[tuple[int, object]] = [(r.entity_id, r) for r in done.refused]
            not_moved += done.failed
            not_moved += [(i, "fiche introuvable") for i in done.missing]
            for sheet_id, error in not_moved:
                reply, answer = asked[sheet_id]
                reason = f"{answer.trigger} refusé : {error}"
                rows[reply.at] = _quarantined(reply.record, reply.text, reason)

    def _alone(
        self, conn: Connection, read: _Read, now: Any, act: Callable[[], Ingested]
    ) -> Ingested:
        """A rare path (a bounce, an alert) taken alone in a savepoint: if it fails for any
        reason but the database's, the message is quarantined with the error, and the batch
        goes on. A database error fails the batch (its reader tries it again)."""
        nested = conn.begin_nested()
        try:
            done = act()
        except DBAPIError:
            raise
        except Exception as error:
            nested.rollback()
            log.exception("inbound %s: could not be handled", shown(read.message_id))
            reason = f"erreur en le traitant : {type(error).__name__}: {error}"
            return self._quarantine(conn, read.record(now), read.text, reason)
        nested.commit()
        return done

    def _alert(
        self, conn: Connection, record: dict[str, Any], message: Message, text: str, now: Any
    ) -> Ingested:
        """A mail to the alert address: an alert on the case it names, or the quarantine.
        Names are looked for in the whole body (a forwarded mail is often the alert itself);
        people are shown the text without quotes, or the whole body when that is all there is."""
        body = _body_text(message)
        shown = text.strip() or fitted(NOTE, body)
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
        log.warning("bounce for mail %s: %s unreachable", mail.id, shown(failed, 200))
        return self._store(conn, record, InboundKind.BOUNCE, None, InboundStatus.RECORDED, failed)

    # -- the quarantine, reviewed by a person ----------------------------------------------------

    def attach(self, inbound_id: int, sheet_id: int, actor: Actor) -> ReplyDef:
        """A person says this quarantined message answers that sheet: it acknowledges or gives
        feedback, as a matched reply would; returns what the reply did (the file's `replies:`)."""
        with self.app.db.transaction() as conn:
            record = self._quarantined(conn, inbound_id)
            state = conn.execute(
                select(*_SHEET_FLOW, SHEETS.c.state, SHEETS.c.case_id).where(
                    SHEETS.c.id == sheet_id
                )
            ).first()
            if state is None:
                raise InboundError(f"fiche n° {sheet_id} inconnue")
            answer = self._sheet_workflow(state).replies.get(state.state)
            if answer is None:
                raise InboundError(
                    f"la fiche n° {sheet_id} n'attend pas de réponse "
                    f"({self._sheet_state(state.state)})"
                )
            data = {answer.field: record.text or ""}
            done = self.app.engine.fire_sheet(sheet_id, answer.trigger, actor, conn=conn, **data)
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
        log.info(
            "inbound %s attached to sheet %s by %s (%s)",
            inbound_id,
            sheet_id,
            actor,
            answer.trigger,
        )
        return answer

    def _sheet_workflow(self, row: Any) -> WorkflowDef:
        """The sheet's own workflow (the latest liaison workflow for a sheet not found)."""
        if row is None:
            return self.app.workflows.latest("liaison").definition
        return self.app.workflows.definition(row.workflow_name, row.workflow_version)

    def _sheet_state(self, state: str | None) -> str:
        """A sheet's state as people read it: « Close », not "closed"."""
        states = self.app.workflows.latest("liaison").definition.states
        return f"état « {states[state].label} »" if state in states else "fiche introuvable"

    def attach_alert(self, inbound_id: int, case_id: int, actor: Actor) -> int:
        """A person says this quarantined message is an alert about that case; returns the
        alert's number."""
        with self.app.db.transaction() as conn:
            record = self._quarantined(conn, inbound_id)
            self.alerts.check_can_alert(conn, case_id)
            if not record.sender:
                raise InboundError(f"le courriel reçu n° {inbound_id} n'a pas d'expéditeur")
            partners = self.alerts.partners_of(conn, record.sender)
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
        log.info("inbound %s rejected by %s: %s", inbound_id, actor, shown(reason, 200))

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

    def _our_mails(self, conn: Connection, batch: list[_Read]) -> list[Any]:
        """For each message, our mail it answers (or None): by its signed reply address first,
        then by its references to our Message-IDs; one query for each way, for the batch."""
        tokens: list[list[int]] = []
        for read in batch:
            ids = []
            for address in read.addresses:
                match = self.reply_address.match(address.strip())
                mail_id = self.signer.check_reply_token(match.group(1)) if match else None
                if mail_id is not None:
                    ids.append(mail_id)
            tokens.append(ids)
        by_id = {r.id: r for r in _rows_in(conn, _MAILS_BY_ID, (i for t in tokens for i in t))}
        found: list[Any] = [next((by_id[i] for i in ids if i in by_id), None) for ids in tokens]
        referenced: dict[int, list[str]] = {}
        suffix = f"@{self.settings.domain}>"
        for at, read in enumerate(batch):
            if found[at] is None and read.message is not None:
                ours = [m for m in _references(read.message) if m.endswith(suffix)]
                if ours:
                    referenced[at] = ours
        if referenced:
            wanted = (m for ours in referenced.values() for m in ours)
            by_message_id = {r.message_id: r for r in _rows_in(conn, _MAILS_BY_MESSAGE_ID, wanted)}
            for at, ours in referenced.items():
                rows = [by_message_id[m] for m in ours if m in by_message_id]
                found[at] = max(rows, key=lambda r: r.id) if rows else None  # the latest
        return found

    @staticmethod
    def _senders(conn: Connection, asked: set[tuple[Any, str]]) -> dict[tuple[int, str], Actor]:
        """Who may answer, for each (our mail to a sheet, sender address) asked: a contact of
        the partner the sheet went to (as that partner), or else the case's counsellor (as
        that person); keyed by (sheet, address)."""
        allowed: dict[tuple[int, str], Actor] = {}
        if not asked:
            return allowed
        senders = sorted({address for _, address in asked})
        sheets = (mail.entity_id for mail, _ in asked)
        for sheet_id, address in _rows_in(conn, _CONTACTS_OF_SHEETS, sheets, senders=senders):
            allowed[(sheet_id, address)] = Actor.partner(address)
        # The counsellor is asked for only where no contact answered (the rarer case).
        rest = {(m, a) for m, a in asked if (m.entity_id, a) not in allowed}
        if rest:
            addresses = sorted({a for _, a in rest})
            cases = (mail.case_id for mail, _ in rest)
            counsellors = {
                (case_id, address): login
                for case_id, login, address in _rows_in(
                    conn, _COUNSELLORS, cases, senders=addresses
                )
            }
            for mail, address in rest:
                login = counsellors.get((mail.case_id, address))
                if login is not None:
                    allowed[(mail.entity_id, address)] = Actor.person(login)
        return allowed

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
        """One record, now (the rare paths; the batch inserts its records together)."""
        (inbound_id,) = _insert(conn, [_row(record, kind, text, status, reason)])
        if status == InboundStatus.QUARANTINED:
            log.warning("inbound %s quarantined: %s", inbound_id, shown(reason, 200))
        return Ingested(inbound_id, status, reason)


# -- the batch's queries and rows ---------------------------------------------------------------


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]


def _keys() -> Any:
    return bindparam("keys", expanding=True)


# The batch's queries, built once: each takes its list of "keys" (and "senders"), so building a
# query costs nothing per message.
_KNOWN_COLUMNS = (
    INBOUND.c.id,
    INBOUND.c.status,
    INBOUND.c.reason,
    INBOUND.c.message_id,
    INBOUND.c.imap_uidvalidity,
    INBOUND.c.imap_uid,
)
_KNOWN_BY_MESSAGE_ID = select(*_KNOWN_COLUMNS).where(INBOUND.c.message_id.in_(_keys()))
_KNOWN_BY_UID = select(*_KNOWN_COLUMNS).where(
    INBOUND.c.imap_uidvalidity.in_(bindparam("validities", expanding=True)),
    INBOUND.c.imap_uid.in_(_keys()),
)
_MAILS_BY_ID = select(*MAIL_COLUMNS).where(OUTBOX.c.id.in_(_keys()))
_MAILS_BY_MESSAGE_ID = select(*MAIL_COLUMNS, OUTBOX.c.message_id).where(
    OUTBOX.c.message_id.in_(_keys())
)
_SHEET_FLOW = (SHEETS.c.workflow_name, SHEETS.c.workflow_version)
_SHEET_STATES = select(SHEETS.c.id, SHEETS.c.state, *_SHEET_FLOW).where(SHEETS.c.id.in_(_keys()))
_CONTACTS_OF_SHEETS = (
    select(SHEETS.c.id, CONTACTS.c.email)
    .join(CONTACTS, CONTACTS.c.partner_id == SHEETS.c.partner_id)
    .where(SHEETS.c.id.in_(_keys()), CONTACTS.c.email.in_(bindparam("senders", expanding=True)))
)
_COUNSELLORS = (
    select(CASES.c.id, USERS.c.login, USERS.c.email)
    .join(USERS, USERS.c.login == CASES.c.referent)
    .where(
        CASES.c.id.in_(_keys()),
        USERS.c.email.in_(bindparam("senders", expanding=True)),
        USERS.c.active.is_(True),  # a counsellor who left no longer answers for the case
    )
)


def _reachable_again(conn: Connection, addresses: set[str]) -> None:
    """A partner's address that bounced once and has now answered for real reaches its owner:
    unflagged (wherever it is a contact), in the transaction that records the answer."""
    if addresses:
        conn.execute(
            update(CONTACTS)
            .where(CONTACTS.c.email.in_(sorted(addresses)), CONTACTS.c.unreachable.is_(True))
            .values(unreachable=False)
        )


def _rows_in(conn: Connection, statement: Any, keys: Iterable[Any], **more: Any) -> list[Any]:
    """`statement`'s rows for `keys`, CHUNK keys per query."""
    rows: list[Any] = []
    for part in _chunks(sorted(set(keys))):
        rows += conn.execute(statement, {"keys": list(part), **more}).all()
    return rows


def _known_many(conn: Connection, batch: list[_Read]) -> dict[Any, Any]:
    """The records of the batch's messages already taken in, by Message-ID and by
    (UIDVALIDITY, UID)."""
    known: dict[Any, Any] = {
        row.message_id: row
        for row in _rows_in(conn, _KNOWN_BY_MESSAGE_ID, (r.message_id for r in batch))
    }
    pairs = {r.incoming.imap for r in batch if r.incoming.imap is not None}
    if pairs:
        validities = sorted({v for v, _ in pairs})
        uids = (uid for _, uid in pairs)
        for row in _rows_in(conn, _KNOWN_BY_UID, uids, validities=validities):
            if (row.imap_uidvalidity, row.imap_uid) in pairs:
                known[(row.imap_uidvalidity, row.imap_uid)] = row
    return known


def _sheets(conn: Connection, sheet_ids: set[int]) -> dict[int, Any]:
    return {row.id: row for row in _rows_in(conn, _SHEET_STATES, sheet_ids)}


# PostgreSQL's "operational" errors that one message's content can cause (a value over a
# program limit, a statement cancelled for taking too long): a refusal, not an outage.
_REFUSALS_AMONG_OPERATIONAL = ("54", "57014")


def _outage(error: Exception) -> bool:
    """The database is failing (lost connection, locked, out of resources, shutting down), as
    opposed to refusing what it was given: retrying message by message would only fail
    again, and a message that cannot be written must not be set aside for it."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, InterfaceError):
        return True
    if not isinstance(error, OperationalError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return not sqlstate.startswith(_REFUSALS_AMONG_OPERATIONAL)


def _row(
    record: dict[str, Any],
    kind: InboundKind,
    text: str | None,
    status: InboundStatus,
    reason: str | None,
) -> dict[str, Any]:
    # What the database cannot hold (NUL…) is cleaned where every statement goes out
    # (`casework.text_hygiene`); the raw bytes keep the message as it came.
    return {**record, "kind": kind, "text": text, "status": status, "reason": reason}


def _quarantined(record: dict[str, Any], text: str | None, reason: str) -> dict[str, Any]:
    return _row(record, InboundKind.ANSWER, text, InboundStatus.QUARANTINED, reason)


def _insert(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert inbound records (one statement) and their attachments; their ids, in order."""
    if not rows:
        return []
    attachments = [row.pop("_attachments", []) for row in rows]
    columns = {c.name for c in INBOUND.columns} - {"id"}
    values = [_fitted(INBOUND, {name: row.get(name) for name in columns}) for row in rows]
    ids = list(
        conn.execute(
            insert(INBOUND).returning(INBOUND.c.id, sort_by_parameter_order=True), values
        ).scalars()
    )
    files = [
        _fitted(ATTACHMENTS, {**a, "inbound_id": i})
        for i, found in zip(ids, attachments, strict=True)
        for a in found
    ]
    if files:
        conn.execute(insert(ATTACHMENTS), files)
    return ids


def _lengths(table: Any) -> dict[str, int]:
    return {
        c.name: c.type.length
        for c in table.columns
        if isinstance(c.type, String) and c.type.length is not None
    }


_LENGTHS = {INBOUND.name: _lengths(INBOUND), ATTACHMENTS.name: _lengths(ATTACHMENTS)}


def _fitted(table: Any, values: dict[str, Any]) -> dict[str, Any]:
    """A record's texts cut to their columns' lengths: a sender can write anything in a
    header, and PostgreSQL refuses an overlong value (SQLite would keep it)."""
    for name, length in _LENGTHS[table.name].items():
        value = values.get(name)
        if isinstance(value, str) and len(value) > length:
            values[name] = value[:length]
    return values


def _read(incoming: Incoming, max_attachment: int) -> _Read:
    """Everything about a message that needs no database. Whatever the input, this returns:
    what cannot be parsed or analysed is marked with the problem, to be quarantined."""
    message, problem = _parse(incoming.raw)
    read = _Read(
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
        read.text = fitted(NOTE, strip_quotes(_body_text(message)))
        read.addresses = _addressed_to(message, incoming.recipients)
    except Exception as error:  # hostile or broken input must not stop the reader
        read.message, read.found, read.attachments = None, None, []
        read.problem = f"message illisible : {type(error).__name__}: {error}"
    return read


def _references(message: Message) -> list[str]:
    referenced = []
    for header in ("In-Reply-To", "References"):
        referenced += _MESSAGE_IDS.findall(" ".join(map(str, message.get_all(header) or [])))
    return referenced


# -- reading a message -----------------------------------------------------------------------------


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
    """An HTML part as text: no scripts, styles or head; a line per block; the quoted original
    (from the first <blockquote>) left out. Read by the standard library's parser, in one pass
    whatever the input (the regular expressions it replaces took quadratic time on a message
    full of unclosed <script> tags)."""
    reader = _HtmlText()
    try:
        reader.feed(html)
        reader.close()
    except _QuoteReached:
        pass
    return "".join(reader.parts)


class _QuoteReached(Exception):
    pass


class _HtmlText(HTMLParser):
    _SKIPPED = frozenset({"script", "style", "head"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, _attrs: Any) -> None:
        if tag == "blockquote":
            raise _QuoteReached
        if tag in self._SKIPPED:
            self.skipping += 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        if tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self._BREAKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)
