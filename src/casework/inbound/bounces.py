"""A delivery failure notice (a bounce) about one of our mails, recorded.

Which mail, and for whom, in this order:
1. its envelope recipient: our VERP address `bounce+<token>@` (LMTP's RCPT TO; over IMAP
   `Delivered-To`, `X-Original-To`, `To`), the token signed for one mail and the one address it
   went to. Whatever the notice says, in whatever format, that address failed; unless the
   notice itself is a delay warning (nothing is flagged) — an automatic reply sent there is
   classified as one before it gets here;
2. failing that, the Message-IDs it quotes, among our own; then only the failed addresses that
   very mail was sent to count. A report quoting one of our Message-IDs for anyone else (a
   forgery, an alias) flags nobody and goes to the quarantine.

Guarantees, all in the caller's transaction: our mail is marked bounced with the addresses that
failed; those addresses are flagged unreachable wherever they are a partner's contact (a reply
that counts clears the flag, `matching.reachable_again`; so does `casework partners
reachable`); the case's counsellor is told by mail. A delay changes nothing (stored, ignored).
A notice that names none of our mails, or no failure of its recipients, is quarantined and
changes nothing else.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from casework.inbound.matching import MAIL_COLUMNS, rows_in
from casework.inbound.parsing import ReadMessage
from casework.inbound.records import Ingested, store
from casework.inbound.reports import Bounce
from casework.models import InboundKind, InboundStatus, MailStatus
from casework.models.tables import CONTACTS, OUTBOX
from casework.notify.links import LinkSigner, split_address_token
from casework.notify.sender import queue_failure_notice
from casework.settings import MailSettings

log = logging.getLogger("casework.inbound")

_MAIL_BY_ID = select(*MAIL_COLUMNS, OUTBOX.c.recipients).where(OUTBOX.c.id == bindparam("id"))
_MAILS_BY_MESSAGE_ID = select(*MAIL_COLUMNS, OUTBOX.c.recipients).where(
    OUTBOX.c.message_id.in_(bindparam("keys", expanding=True))
)
NOT_OURS = "rapport de non-distribution qui ne concerne aucun de nos courriels"
NOBODY_OF_OURS = "rapport de non-distribution : aucune des adresses en échec n'a reçu ce courriel"
NO_FAILURE = "rapport de non-distribution sans adresse en échec"


class BounceDesk:
    """Bounces: recognised by their VERP address, recorded against that very mail. `signer` is
    asked for only when a notice names a VERP address."""

    def __init__(self, settings: MailSettings, signer: Callable[[], LinkSigner]):
        local = re.escape(settings.bounce_local)
        domain = re.escape(settings.bounce_domain or settings.domain)
        self.address = re.compile(rf"^{local}\+([a-z0-9-]+)@{domain}$", re.IGNORECASE)
        self.suffix = f"@{settings.domain}>"
        self._signer = signer

    def verp(self, read: ReadMessage) -> tuple[int, str] | None:
        """The (mail id, MAC) of the first VERP address the message was delivered to, unchecked:
        the envelope's recipients come first in `read.addresses`."""
        for address in read.addresses:
            match = self.address.match(address.strip())
            parsed = split_address_token(match.group(1)) if match else None
            # With one mailbox for all (IMAP), bounce_local may be reply_local: a reply
            # address is told apart by its token, signed for replies.
            if parsed is not None and self._signer().check_reply_token(match.group(1)) is None:
                return parsed
        return None

    def record(
        self, conn: Connection, record: dict[str, Any], read: ReadMessage, now: datetime
    ) -> Ingested:
        bounce = (read.found and read.found.bounce) or Bounce()
        mail, failed = self._by_verp(conn, self.verp(read), bounce)
        if mail is None:
            mail, failed = self._by_message_id(conn, bounce)
        if mail is None:
            return _quarantined(conn, record, NOT_OURS)
        record.update(outbox_id=mail.id, case_id=mail.case_id)
        if mail.entity == "liaison":
            record["sheet_id"] = mail.entity_id
        if not failed:
            if bounce.delayed and not bounce.failed:
                reason = "avertissement de retard : le serveur réessaie, rien n'est marqué"
                return store(conn, record, InboundKind.BOUNCE, None, InboundStatus.IGNORED, reason)
            return _quarantined(conn, record, NOBODY_OF_OURS if bounce.failed else NO_FAILURE)
        flagged = ", ".join(failed)
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == mail.id)
            .values(status=MailStatus.BOUNCED, last_error=f"revenu en erreur pour {flagged}")
        )
        conn.execute(update(CONTACTS).where(CONTACTS.c.email.in_(failed)).values(unreachable=True))
        queue_failure_notice(conn, mail.id, f"revenu en erreur pour {flagged}", now)
        log.warning("bounce for mail %s: %d address(es) unreachable", mail.id, len(failed))
        return store(conn, record, InboundKind.BOUNCE, None, InboundStatus.RECORDED, flagged)

    def _by_verp(
        self, conn: Connection, verp: tuple[int, str] | None, bounce: Bounce
    ) -> tuple[Any, list[str]]:
        """The mail a VERP address names and the address its token was signed for; a delay
        warning flags nobody."""
        if verp is None:
            return None, []
        mail_id, mac = verp
        mail = conn.execute(_MAIL_BY_ID, {"id": mail_id}).first()
        recipient = mail and self._signer().bounce_recipient(mac, mail_id, mail.recipients or [])
        if not recipient:
            return None, []
        if bounce.delayed and not bounce.failed:
            return mail, []
        return mail, [recipient]

    def _by_message_id(self, conn: Connection, bounce: Bounce) -> tuple[Any, list[str]]:
        """Our mail among those the notice quotes, and its failed addresses that mail was sent
        to: the quoted mail whose recipients failed, else the latest quoted."""
        ours = [m for m in bounce.original_message_ids if m.endswith(self.suffix)]
        if not ours:
            return None, []
        mails = rows_in(conn, _MAILS_BY_MESSAGE_ID, ours)
        best: tuple[Any, list[str]] = (None, [])
        for mail in sorted(mails, key=lambda m: m.id):
            sent_to = {r.strip().lower() for r in mail.recipients or []}
            failed = [a for a in bounce.failed if a in sent_to]
            if failed or not best[1]:
                best = (mail, failed)
        return best


def _quarantined(conn: Connection, record: dict[str, Any], reason: str) -> Ingested:
    return store(conn, record, InboundKind.BOUNCE, None, InboundStatus.QUARANTINED, reason)
