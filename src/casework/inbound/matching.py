"""Matching a batch of messages to what the database knows, with a few set-based queries.

Guarantees: which messages were taken in already (by Message-ID, or by the mailbox's
(UIDVALIDITY, UID)); which of our mails a message answers — by its signed `reply+<token>@`
address first, then by its references to our Message-IDs, never by its subject; who may answer
for a sheet — a contact of the partner the sheet went to, or else the case's active
counsellor. Reads only, one query per kind of key for the whole batch (`KEYS_PER_QUERY` keys
per query), whatever the number of messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, select, update

from casework.actors import Actor
from casework.chunks import chunks
from casework.inbound.parsing import ReadMessage, references
from casework.models.tables import CASES, CONTACTS, INBOUND, OUTBOX, SHEETS, USERS
from casework.notify.links import LinkSigner

MAIL_COLUMNS = (OUTBOX.c.id, OUTBOX.c.case_id, OUTBOX.c.entity, OUTBOX.c.entity_id)


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
# A reply token names its mail; the mail's recipient is the contact the token is bound to.
_MAILS_BY_ID = select(*MAIL_COLUMNS, OUTBOX.c.recipients).where(OUTBOX.c.id.in_(_keys()))
_MAILS_BY_MESSAGE_ID = select(*MAIL_COLUMNS, OUTBOX.c.message_id).where(
    OUTBOX.c.message_id.in_(_keys())
)
SHEET_FLOW = (SHEETS.c.workflow_name, SHEETS.c.workflow_version)
_SHEET_STATES = select(SHEETS.c.id, SHEETS.c.state, *SHEET_FLOW).where(SHEETS.c.id.in_(_keys()))
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


def _recipient(recipients: Any) -> str | None:
    """The one address a mail went to (each copy of a mail is its own row), lowercased."""
    if isinstance(recipients, list) and len(recipients) == 1 and isinstance(recipients[0], str):
        return recipients[0].strip().lower()
    return None


def rows_in(conn: Connection, statement: Any, keys: Iterable[Any], **more: Any) -> list[Any]:
    """`statement`'s rows for `keys`, KEYS_PER_QUERY keys per query."""
    rows: list[Any] = []
    for part in chunks(sorted(set(keys))):
        rows += conn.execute(statement, {"keys": list(part), **more}).all()
    return rows


def known_many(conn: Connection, batch: list[ReadMessage]) -> dict[Any, Any]:
    """The records of the batch's messages already taken in, by Message-ID and by
    (UIDVALIDITY, UID)."""
    known: dict[Any, Any] = {
        row.message_id: row
        for row in rows_in(conn, _KNOWN_BY_MESSAGE_ID, (r.message_id for r in batch))
    }
    pairs = {r.incoming.imap for r in batch if r.incoming.imap is not None}
    if pairs:
        validities = sorted({v for v, _ in pairs})
        uids = (uid for _, uid in pairs)
        for row in rows_in(conn, _KNOWN_BY_UID, uids, validities=validities):
            if (row.imap_uidvalidity, row.imap_uid) in pairs:
                known[(row.imap_uidvalidity, row.imap_uid)] = row
    return known


def sheet_rows(conn: Connection, sheet_ids: set[int]) -> dict[int, Any]:
    """Each sheet's state and workflow (name, version), by id."""
    return {row.id: row for row in rows_in(conn, _SHEET_STATES, sheet_ids)}


def reachable_again(conn: Connection, addresses: set[str]) -> None:
    """A partner's address that bounced once and has now answered for real reaches its owner:
    unflagged (wherever it is a contact), in the transaction that records the answer."""
    if addresses:
        conn.execute(
            update(CONTACTS)
            .where(CONTACTS.c.email.in_(sorted(addresses)), CONTACTS.c.unreachable.is_(True))
            .values(unreachable=False)
        )


class Mail(NamedTuple):
    """One of our mails, as matching needs it (hashable, unlike a row with a JSON column)."""

    id: int
    case_id: int | None
    entity: str | None
    entity_id: int | None


@dataclass(frozen=True)
class Answered:
    """Our mail a message answers; `bound`: the address that mail went to, when the message
    came through that mail's signed reply address (the token is bound to that contact), else
    None (matched by its references only, which anyone can copy)."""

    mail: Mail
    bound: str | None = None


class Matcher:
    """Our mail each message answers, and who may answer it. `signer` is asked for only when a
    message has a reply address (reviewing the quarantine needs no keys)."""

    def __init__(self, reply_local: str, domain: str, signer: Callable[[], LinkSigner]):
        local, at = re.escape(reply_local), re.escape(domain)
        self.reply_address = re.compile(rf"^{local}\+([a-z0-9-]+)@{at}$", re.IGNORECASE)
        self.domain = domain
        self._signer = signer

    def our_mails(self, conn: Connection, batch: list[ReadMessage]) -> list[Answered | None]:
        """For each message, our mail it answers (or None): by its signed reply address first,
        then by its references to our Message-IDs; one query for each way, for the batch."""
        tokens: list[list[int]] = []
        for read in batch:
            ids = []
            for address in read.addresses:
                match = self.reply_address.match(address.strip())
                mail_id = self._signer().check_reply_token(match.group(1)) if match else None
                if mail_id is not None:
                    ids.append(mail_id)
            tokens.append(ids)
        by_id = {r.id: r for r in rows_in(conn, _MAILS_BY_ID, (i for t in tokens for i in t))}
        found: list[Answered | None] = []
        for ids in tokens:
            row = next((by_id[i] for i in ids if i in by_id), None)
            if row is None:
                found.append(None)
            else:
                found.append(Answered(Mail(*row[:4]), _recipient(row.recipients)))
        referenced: dict[int, list[str]] = {}
        suffix = f"@{self.domain}>"
        for at, read in enumerate(batch):
            if found[at] is None and read.message is not None:
                ours = [m for m in references(read.message) if m.endswith(suffix)]
                if ours:
                    referenced[at] = ours
        if referenced:
            wanted = (m for ours in referenced.values() for m in ours)
            by_message_id = {r.message_id: r for r in rows_in(conn, _MAILS_BY_MESSAGE_ID, wanted)}
            for at, ours in referenced.items():
                rows = [by_message_id[m] for m in ours if m in by_message_id]
                if rows:
                    latest = max(rows, key=lambda r: r.id)
                    found[at] = Answered(Mail(*latest[:4]))
        return found

    @staticmethod
    def senders(conn: Connection, asked: set[tuple[Any, str]]) -> dict[tuple[int, str], Actor]:
        """Who may answer, for each (our mail to a sheet, sender address) asked: a contact of
        the partner the sheet went to (as that partner), or else the case's counsellor (as
        that person); keyed by (sheet, address)."""
        allowed: dict[tuple[int, str], Actor] = {}
        if not asked:
            return allowed
        senders = sorted({address for _, address in asked})
        sheets = (mail.entity_id for mail, _ in asked)
        for sheet_id, address in rows_in(conn, _CONTACTS_OF_SHEETS, sheets, senders=senders):
            allowed[(sheet_id, address)] = Actor.partner(address)
        # The counsellor is asked for only where no contact answered (the rarer case).
        rest = {(m, a) for m, a in asked if (m.entity_id, a) not in allowed}
        if rest:
            addresses = sorted({a for _, a in rest})
            cases = (mail.case_id for mail, _ in rest)
            counsellors = {
                (case_id, address): login
                for case_id, login, address in rows_in(conn, _COUNSELLORS, cases, senders=addresses)
            }
            for mail, address in rest:
                login = counsellors.get((mail.case_id, address))
                if login is not None:
                    allowed[(mail.entity_id, address)] = Actor.person(login)
        return allowed
