"""What the purge and an erasure do to rows, set-based on a chunk of keys (at most
`chunks.KEYS_PER_QUERY`), inside the caller's transaction. `retention.POLICY` says the same in
French, column by column.

Each function is idempotent: applied twice to the same keys, the second changes nothing more.

Audit events: the `events` table refuses UPDATE and DELETE (triggers, migrations 0001 and
0020). The one exception is `data`, rewritten while the transaction holds a permit row
(`redaction_permit`), inserted and deleted here before the caller commits: no other
transaction ever sees a permit, the event's other columns still cannot change, and no event
can be deleted.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    String,
    Text,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from casework.models.beneficiary import age_on
from casework.models.outbox import MailStatus
from casework.models.tables import (
    ACCESS_LOG,
    ALERTS,
    ASSESSMENTS,
    ATTACHMENTS,
    CASES,
    CONTACT_LOGS,
    CONTRACTS,
    DECISIONS,
    EVENTS,
    INBOUND,
    LINKS,
    OUTBOX,
    PEOPLE,
    PERMITS,
    PROPOSALS,
    RECORDS,
    REJECTS,
    SHEETS,
)
from casework.privacy.retention import ANONYMOUS_NAME, ANONYMOUS_NUMBER, TEXT_REMOVED
from casework.states.catalog import WorkflowSet

# Keys of an event's data that hold free text whatever the workflow (handlers' notes, mail
# answers); the workflows' own text fields are added (`free_text_keys`).
FREE_TEXT_KEYS = frozenset(
    {"notes", "reason", "description", "feedback", "message", "comments", "text", "subject"}
)


# Text fields of the workflows that hold a staff login, kept in the audit trail.
LOGINS = frozenset({"to"})

# The tables whose due rows are deleted, not anonymised.
DELETED = {
    "intake_records": RECORDS,
    "intake_rejects": REJECTS,
    "match_proposals": PROPOSALS,
    "access_log": ACCESS_LOG,
}


def free_text_keys(workflows: WorkflowSet) -> list[str]:
    """Every key of an event's data that may hold free text: the workflows' `text` fields,
    but those that hold a login (`reassign`'s `to`: who took the case over, not free text)."""
    found = set(FREE_TEXT_KEYS)
    for definition in workflows:
        for transition in definition.transitions:
            found.update(
                f.name for f in transition.fields if f.type == "text" and f.name not in LOGINS
            )
    return sorted(found)


@contextmanager
def redaction_permit(conn: Connection) -> Iterator[None]:
    """Events' `data` may be rewritten inside this block, in this transaction only."""
    tx = func.txid_current() if conn.dialect.name == "postgresql" else None
    permit = conn.execute(insert(PERMITS).values(tx=tx).returning(PERMITS.c.id)).scalar_one()
    yield
    conn.execute(delete(PERMITS).where(PERMITS.c.id == permit))


def anonymise_people(conn: Connection, ids: Sequence[int], now: datetime) -> int:
    """Names, birth date (its year and each contract's starting age kept), contact details,
    identifiers; their imported rows and cross-matching keys. Returns the people done."""
    if not ids:
        return 0
    contracts = conn.execute(
        select(
            CONTRACTS.c.id,
            CONTRACTS.c.cma_number,
            CONTRACTS.c.start_date,
            PEOPLE.c.birth_date,
        )
        .join(PEOPLE, PEOPLE.c.id == CONTRACTS.c.beneficiary_id)
        .where(CONTRACTS.c.beneficiary_id.in_(ids), PEOPLE.c.anonymised_at.is_(None))
    ).all()
    ages = [
        {"cid": c.id, "age": age_on(c.birth_date, c.start_date)}
        for c in contracts
        if c.birth_date is not None
    ]
    if ages:
        conn.execute(
            update(CONTRACTS)
            .where(CONTRACTS.c.id == bindparam("cid"))
            .values(age_at_start=bindparam("age")),
            ages,
        )
    people = conn.execute(
        select(PEOPLE.c.id, PEOPLE.c.birth_date, PEOPLE.c.ml_id).where(
            PEOPLE.c.id.in_(ids), PEOPLE.c.anonymised_at.is_(None)
        )
    ).all()
    if not people:
        return 0
    _forget_keys(
        conn,
        [c.cma_number for c in contracts if not c.cma_number.startswith(ANONYMOUS_NUMBER)],
        [p.ml_id for p in people if p.ml_id],
    )
    conn.execute(
        update(PEOPLE).where(PEOPLE.c.id == bindparam("pid")).values(birth_year=bindparam("year")),
        [{"pid": p.id, "year": p.birth_date.year if p.birth_date else None} for p in people],
    )
    done = [p.id for p in people]
    conn.execute(
        update(PEOPLE)
        .where(PEOPLE.c.id.in_(done))
        .values(
            birth_name=ANONYMOUS_NAME,
            first_names="",
            name_key=None,
            birth_date=None,
            phone=None,
            email=None,
            address_line=None,
            postcode=None,
            commune=None,
            ml_id=None,
            guardian_name=None,
            guardian_phone=None,
            guardian_email=None,
            anonymised_at=now,
            updated_at=now,
        )
    )
    conn.execute(
        update(CONTRACTS)
        .where(CONTRACTS.c.beneficiary_id.in_(done))
        .values(
            cma_number=literal(ANONYMOUS_NUMBER) + cast(CONTRACTS.c.id, String),
            employer_name=None,
            employer_siret=None,
            updated_at=now,
        )
    )
    return len(done)


def _forget_keys(conn: Connection, cma_numbers: list[str], ml_ids: list[str]) -> None:
    """The person's rows as imported and the cross-matching's pairs naming them."""
    if cma_numbers:
        conn.execute(
            delete(RECORDS).where(RECORDS.c.source == "cma", RECORDS.c.key.in_(cma_numbers))
        )
        conn.execute(delete(PROPOSALS).where(PROPOSALS.c.cma_key.in_(cma_numbers)))
        conn.execute(delete(DECISIONS).where(DECISIONS.c.cma_key.in_(cma_numbers)))
    if ml_ids:
        conn.execute(delete(RECORDS).where(RECORDS.c.source == "ml", RECORDS.c.key.in_(ml_ids)))
        conn.execute(delete(PROPOSALS).where(PROPOSALS.c.ml_key.in_(ml_ids)))
        conn.execute(delete(DECISIONS).where(DECISIONS.c.ml_key.in_(ml_ids)))


def purge_notes(
    conn: Connection, case_ids: Sequence[int], now: datetime, keys: Iterable[str]
) -> int:
    """The cases' free text: contacts' notes, assessments' comments, sheets' descriptions and
    feedback, rupture reasons, revocation reasons, and the free-text `keys` of their events."""
    if not case_ids:
        return 0
    ids = list(case_ids)
    conn.execute(update(CONTACT_LOGS).where(CONTACT_LOGS.c.case_id.in_(ids)).values(notes=None))
    conn.execute(update(ASSESSMENTS).where(ASSESSMENTS.c.case_id.in_(ids)).values(comments=None))
    conn.execute(
        update(SHEETS)
        .where(SHEETS.c.case_id.in_(ids))
        .values(description=TEXT_REMOVED, feedback=None)
    )
    contracts = select(CASES.c.contract_id).where(CASES.c.id.in_(ids)).scalar_subquery()
    conn.execute(update(CONTRACTS).where(CONTRACTS.c.id.in_(contracts)).values(rupture_reason=None))
    conn.execute(update(LINKS).where(LINKS.c.case_id.in_(ids)).values(revoke_reason=None))
    _redact_events(conn, ids, sorted(keys))
    conn.execute(update(CASES).where(CASES.c.id.in_(ids)).values(notes_purged_at=now))
    return len(ids)


def purge_audit(conn: Connection, case_ids: Sequence[int], now: datetime) -> int:
    """The cases' events keep their trigger, states, date and actor; their data is emptied."""
    if not case_ids:
        return 0
    ids = list(case_ids)
    _redact_events(conn, ids, None)
    conn.execute(update(CASES).where(CASES.c.id.in_(ids)).values(audit_purged_at=now))
    return len(ids)


def _redact_events(conn: Connection, case_ids: list[int], keys: list[str] | None) -> None:
    """Remove `keys` from the data of the cases' events (None: every key)."""
    data = EVENTS.c.data
    value: Any
    if keys is None:
        value = {}
    elif conn.dialect.name == "postgresql":  # jsonb - text[]: without those keys
        value = data.op("-", return_type=JSONB)(bindparam("free_keys", keys, ARRAY(Text)))
    else:
        value = func.json_remove(data, *(f'$."{k}"' for k in keys))
    with redaction_permit(conn):
        conn.execute(update(EVENTS).where(EVENTS.c.case_id.in_(case_ids)).values(data=value))


def purge_inbound(conn: Connection, ids: Sequence[int], now: datetime) -> int:
    """Mail received: emptied (raw, text, subject, sender, reason), attachments deleted, the
    alerts it made without their sender's address. The row stays: alerts and our outbox's
    bounces refer to it, and its date, kind and status are counted."""
    if not ids:
        return 0
    ids = list(ids)
    conn.execute(delete(ATTACHMENTS).where(ATTACHMENTS.c.inbound_id.in_(ids)))
    conn.execute(update(ALERTS).where(ALERTS.c.inbound_id.in_(ids)).values(sender=""))
    conn.execute(
        update(INBOUND)
        .where(INBOUND.c.id.in_(ids))
        .values(raw=b"", text=None, subject=None, sender=None, reason=None, purged_at=now)
    )
    return len(ids)


def purge_outbox(conn: Connection, ids: Sequence[int], now: datetime) -> int:
    """Mail sent: recipients, values, subject, message, error emptied; a mail still queued is
    first given up (an erasure: nothing more is sent about the person)."""
    if not ids:
        return 0
    ids = list(ids)
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ids), OUTBOX.c.status == MailStatus.QUEUED.value)
        .values(status=MailStatus.UNDELIVERABLE.value)
    )
    conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_(ids))
        .values(
            recipients=[], context={}, subject=None, message=None, last_error=None, purged_at=now
        )
    )
    return len(ids)


def purge_links(conn: Connection, ids: Sequence[int]) -> int:
    """Expired action links: whom they were sent to, and why revoked."""
    if not ids:
        return 0
    conn.execute(
        update(LINKS).where(LINKS.c.id.in_(list(ids))).values(recipient="", revoke_reason=None)
    )
    return len(ids)


def delete_rows(conn: Connection, table: str, ids: Sequence[int]) -> int:
    """Rows nothing refers to (imported rows, rejects, proposals, the access log)."""
    target = DELETED[table]
    if not ids:
        return 0
    return int(conn.execute(delete(target).where(target.c.id.in_(list(ids)))).rowcount)


def mails_of(conn: Connection, case_ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """The inbound and outbox mails about these cases (directly or through their sheets)."""
    sheets = select(SHEETS.c.id).where(SHEETS.c.case_id.in_(list(case_ids))).scalar_subquery()
    inbound = conn.execute(
        select(INBOUND.c.id).where(
            or_(INBOUND.c.case_id.in_(list(case_ids)), INBOUND.c.sheet_id.in_(sheets))
        )
    ).scalars()
    outbox = conn.execute(select(OUTBOX.c.id).where(OUTBOX.c.case_id.in_(list(case_ids)))).scalars()
    return [int(i) for i in inbound], [int(i) for i in outbox]
