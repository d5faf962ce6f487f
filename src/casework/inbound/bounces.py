"""A delivery failure report (a bounce) about one of our mails, recorded.

Guarantees, all in the caller's transaction: our mail is marked bounced with the addresses that
failed; those addresses are flagged unreachable wherever they are a partner's contact (a reply
that counts clears the flag, `matching.reachable_again`); the case's counsellor is told by mail.
A report that names none of our mails, or no definite failure, is quarantined and changes
nothing else.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from casework.inbound.classify import Bounce
from casework.inbound.matching import MAIL_COLUMNS
from casework.inbound.records import Ingested, store
from casework.models import InboundKind, InboundStatus, MailStatus
from casework.models.tables import CONTACTS, OUTBOX
from casework.notify.sender import queue_failure_notice
from casework.text_limits import shown

log = logging.getLogger("casework.inbound")


def record_bounce(
    conn: Connection, record: dict[str, Any], bounce: Bounce, now: datetime
) -> Ingested:
    mail = None
    if bounce.original_message_id:
        mail = conn.execute(
            select(*MAIL_COLUMNS).where(OUTBOX.c.message_id == bounce.original_message_id)
        ).first()
    if mail is None or not bounce.failed:
        reason = "rapport de non-distribution sans courriel reconnu ni échec définitif"
        return store(conn, record, InboundKind.BOUNCE, None, InboundStatus.QUARANTINED, reason)
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
    return store(conn, record, InboundKind.BOUNCE, None, InboundStatus.RECORDED, failed)
