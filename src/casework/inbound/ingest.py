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

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from casework.actors import Actor
from casework.app import App
from casework.engine.engine import FireRequest
from casework.errors import error_kind
from casework.inbound.alerts import AlertDesk
from casework.inbound.authentication import SenderCheck
from casework.inbound.bounces import BounceDesk
from casework.inbound.classify import Kind
from casework.inbound.matching import (
    Matcher,
    known_many,
    reachable_again,
    sheet_rows,
)
from casework.inbound.parsing import Incoming, ReadMessage, read_message
from casework.inbound.records import (
    Ingested,
    inbound_row,
    insert_records,
    log_quarantined,
    quarantined_row,
    store,
)
from casework.inbound.replies import sheet_state, sheet_workflow
from casework.models import InboundKind, InboundStatus
from casework.notify.links import LinkSigner
from casework.privacy.logs import logged_actor
from casework.text_limits import shown

log = logging.getLogger("casework.inbound")
ATTEMPTS = 3  # a batch read again after another reader took one of its messages
NOT_OURS = "ne répond à aucun de nos courriels (adresse de réponse ou références inconnues)"


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
        self.matcher = Matcher(self.settings.reply_local, self.settings.domain, lambda: self.signer)
        self.alerts = AlertDesk(app)
        self.bounces = BounceDesk(self.settings, lambda: self.signer)
        inbound = app.settings.inbound
        self.check = SenderCheck(inbound.sender_policy, inbound.authserv_id)

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
        read = [read_message(incoming, self._max_attachment) for incoming in batch]
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

    def _attempt(self, read: list[ReadMessage]) -> list[Ingested]:
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

    def _one_of_a_failed_batch(self, read: ReadMessage) -> Ingested:
        try:
            return self._attempt([read])[0]
        except Exception as error:
            if _outage(error):
                raise
            return self._refused(read, error)

    def _refused(self, read: ReadMessage, error: Exception) -> Ingested:
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
                    seen = known_many(conn, [read])
                    found = seen.get(read.message_id) or seen.get(read.incoming.imap)
                    if found is not None:
                        return Ingested(found.id, found.status, found.reason, duplicate=True)
                    unreadable = inbound_row(
                        record, InboundKind.UNREADABLE, None, InboundStatus.QUARANTINED, reason
                    )
                    (inbound_id,) = insert_records(conn, [unreadable])
                    return Ingested(inbound_id, InboundStatus.QUARANTINED, reason)
            except IntegrityError:
                if attempt == ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    @property
    def _max_attachment(self) -> int:
        return self.app.settings.inbound.max_attachment_bytes

    # -- a batch, one transaction ----------------------------------------------------------------

    def _take(self, conn: Connection, batch: list[ReadMessage], now: Any) -> list[Ingested]:
        results: list[Ingested | None] = [None] * len(batch)
        rows: dict[int, dict[str, Any]] = {}  # place → inbound row, inserted together at the end
        known = known_many(conn, batch)
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
                    rows[at] = inbound_row(
                        record,
                        InboundKind.UNREADABLE,
                        None,
                        InboundStatus.QUARANTINED,
                        read.problem,
                    )
                elif found.kind == Kind.BOUNCE or (
                    found.kind == Kind.ANSWER and self.bounces.verp(read) is not None
                ):  # a notice to our VERP address is a bounce, whatever its format
                    bounce = partial(self.bounces.record, conn, record, read, now)
                    results[at] = self._alone(conn, read, now, bounce)
                elif found.kind == Kind.AUTO_REPLY:
                    rows[at] = inbound_row(
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
        ids = insert_records(conn, [rows[at] for at in places])
        for at, inbound_id in zip(places, ids, strict=True):
            written = rows[at]
            results[at] = Ingested(inbound_id, written["status"], written["reason"])
            if written["status"] == InboundStatus.QUARANTINED:
                log_quarantined(inbound_id, written["reason"])
        for at, copy_of in later:
            taken = results[copy_of]
            assert taken is not None
            results[at] = Ingested(taken.id, taken.status, taken.reason, duplicate=True)
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _answers(
        self,
        conn: Connection,
        batch: list[ReadMessage],
        answers: list[int],
        rows: dict[int, dict[str, Any]],
        results: list[Ingested | None],
        now: Any,
    ) -> list[_Reply]:
        """Messages written by people: matched to our mails and their senders checked; those
        that answer a sheet are returned, the others quarantined (or alerts)."""
        answered = self.matcher.our_mails(conn, [batch[at] for at in answers])
        mails = [a.mail if a is not None else None for a in answered]
        senders = self.matcher.senders(
            conn,
            {
                (mail, batch[at].sender)
                for at, mail in zip(answers, mails, strict=True)
                if mail is not None and mail.entity == "liaison" and batch[at].sender
            },
        )
        replies = []
        for at, mail, answer in zip(answers, mails, answered, strict=True):
            read = batch[at]
            record = read.record(now)
            text = read.text or ""
            if mail is None and self.alerts.is_for_us(read.addresses):
                proof = self.check.by_server(read.message, read.sender)
                results[at] = self._alone(
                    conn,
                    read,
                    now,
                    lambda r=record, m=read.message, t=text, p=proof: self.alerts.take(
                        conn, r, m, t, now, p
                    ),
                )
                continue
            if mail is None:
                rows[at] = quarantined_row(record, text, NOT_OURS)
                continue
            record.update(outbox_id=mail.id, case_id=mail.case_id)
            if mail.entity != "liaison":
                reason = "réponse à un courriel qui n'attend pas de réponse"
                rows[at] = quarantined_row(record, text, reason)
                continue
            record["sheet_id"] = mail.entity_id
            actor = senders.get((mail.entity_id, read.sender or ""))
            if actor is None:
                who = read.sender or "inconnu"
                reason = f"expéditeur {who} : ni un contact du partenaire, ni le conseiller"
                rows[at] = quarantined_row(record, text, reason)
                continue
            bound = answer.bound if answer is not None else None
            proof = self.check.reply(read.message, read.sender, bound)
            if not proof.counts:
                rows[at] = quarantined_row(record, text, proof.reason or NOT_OURS)
                continue
            replies.append(_Reply(at, record, text, mail.entity_id, actor))
        return replies

    def _fire(
        self, conn: Connection, replies: list[_Reply], rows: dict[int, dict[str, Any]]
    ) -> None:
        """Each reply acknowledges or gives feedback, by its sheet's state. A sheet answered
        twice in the batch is answered in turn, in the batch's order: one reply per sheet per
        round, each round seeing the states the previous one left."""
        sheets = sheet_rows(conn, {r.sheet_id for r in replies})  # state and workflow
        states = {sheet_id: row.state for sheet_id, row in sheets.items()}
        waiting = replies
        while waiting:
            this_round: list[_Reply] = []
            next_round: list[_Reply] = []
            for reply in waiting:
                busy = any(r.sheet_id == reply.sheet_id for r in this_round)
                (next_round if busy else this_round).append(reply)
            waiting = next_round
            self._fire_round(conn, this_round, sheets, states, rows)

    def _fire_round(
        self,
        conn: Connection,
        replies: list[_Reply],
        sheets: dict[int, Any],
        states: dict[int, str],
        rows: dict[int, dict[str, Any]],
    ) -> None:
        """One reply per sheet: their transitions fired together; `states` follows them."""
        requests, asked = [], {}
        for reply in replies:
            state = states.get(reply.sheet_id)
            flow = sheet_workflow(self.app.workflows, sheets.get(reply.sheet_id))
            answer = flow.replies.get(state or "")  # the file's `replies:`
            if answer is None:
                reason = (
                    f"la fiche n'attend plus de réponse ({sheet_state(self.app.workflows, state)})"
                )
                rows[reply.at] = quarantined_row(reply.record, reply.text, reason)
            elif flow.reply_needs_text(answer) and not reply.text.strip():
                reason = "réponse vide : aucun retour à enregistrer"
                rows[reply.at] = quarantined_row(reply.record, reply.text, reason)
            else:
                data = {answer.field: reply.text}
                requests.append(FireRequest(reply.sheet_id, answer.trigger, reply.actor, data))
                asked[reply.sheet_id] = (reply, answer)
        if not requests:
            return
        done = self.app.engine.fire_each("liaison", requests, conn=conn)
        reachable_again(
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
            rows[reply.at] = inbound_row(
                reply.record, InboundKind.ANSWER, reply.text, InboundStatus.RECORDED, answer.says
            )
            log.info(
                "reply from %s: sheet %s %s",
                logged_actor(reply.actor),
                moved.entity_id,
                answer.trigger,
            )
        not_moved: list[tuple[int, object]] = [(r.entity_id, r) for r in done.refused]
        not_moved += done.failed
        not_moved += [(i, "fiche introuvable") for i in done.missing]
        for sheet_id, error in not_moved:
            reply, answer = asked[sheet_id]
            reason = f"{answer.trigger} refusé : {error}"
            rows[reply.at] = quarantined_row(reply.record, reply.text, reason)

    def _alone(
        self, conn: Connection, read: ReadMessage, now: Any, act: Callable[[], Ingested]
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

    @staticmethod
    def _quarantine(
        conn: Connection, record: dict[str, Any], text: str | None, reason: str
    ) -> Ingested:
        return store(conn, record, InboundKind.ANSWER, text, InboundStatus.QUARANTINED, reason)


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
