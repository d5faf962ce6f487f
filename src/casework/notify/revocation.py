"""Revoking action links before they expire: every link of a person (who leaves, or whose
mailbox is compromised), of a case, or one link (a mail sent to the wrong address).

Only links that still work are revoked (not used, not expired, not revoked already), so the count
says how many doors were actually closed. Each revocation is written in the caller's
transaction with one event per case on that case's timeline (who, why, which links): the audit
trail is the record, the columns on `action_links` are what `resolve` reads. A revoked link
answers 410 "Lien révoqué" (casework/notify/links.py).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from casework.actors import Actor
from casework.models.tables import EVENTS, LINKS

log = logging.getLogger("casework.links")
MAX_REASON = 500  # the column's size


def revoke_links(
    conn: Connection,
    *,
    user_email: str | None = None,
    case_id: int | None = None,
    link_id: int | None = None,
    by: Actor,
    reason: str,
    now: datetime,
) -> int:
    """Revoke the working links that match every filter given (at least one); returns how many.

    `user_email` is a recipient's address, a counsellor's or a partner contact's, compared
    without case. There is no index on it: revoking a person's links is rare, and an index would
    cost every mail that creates links."""
    if user_email is None and case_id is None and link_id is None:
        raise ValueError("revoke_links needs a user, a case or a link: it never revokes them all")
    if len(reason) > MAX_REASON:
        raise ValueError(f"reason longer than {MAX_REASON} characters")
    where = [LINKS.c.revoked_at.is_(None), LINKS.c.used_at.is_(None), LINKS.c.expires_at > now]
    # What was revoked, for the events and the log: "user" (the address itself is on the links,
    # not repeated in every event), "case", "link", or several joined by "+".
    scope = []
    if user_email is not None:
        where.append(func.lower(LINKS.c.recipient) == user_email.strip().lower())
        scope.append("user")
    if case_id is not None:
        where.append(LINKS.c.case_id == case_id)
        scope.append("case")
    if link_id is not None:
        where.append(LINKS.c.id == link_id)
        scope.append("link")
    # One UPDATE whose WHERE re-checks "unused": a click racing the revocation either used the
    # link first (and it is not counted) or finds it revoked (`LinkSigner.use`).
    revoked = conn.execute(
        update(LINKS)
        .where(*where)
        .values(revoked_at=now, revoked_by=str(by), revoke_reason=reason)
        .returning(LINKS.c.id, LINKS.c.case_id)
    ).all()
    per_case: dict[int, list[int]] = defaultdict(list)
    for link in revoked:
        per_case[link.case_id].append(link.id)
    _record_revocations(conn, per_case, by, now, "+".join(scope), reason)
    # No address and no free text in the log: the events hold them, where access is controlled.
    # Nothing to revoke is said quietly (a handover asks for each case it moves).
    (log.info if revoked else log.debug)(
        "%d link(s) revoked on %d case(s) by %s (%s)",
        len(revoked),
        len(per_case),
        by,
        "+".join(scope),
    )
    return len(revoked)


def links_of_case(conn: Connection, case_id: int) -> list[Any]:
    """A case's links, newest first, for a person to find one's number (never a token: only
    hashes are stored)."""
    return list(
        conn.execute(
            select(
                LINKS.c.id,
                LINKS.c.entity,
                LINKS.c.entity_id,
                LINKS.c.trigger,
                LINKS.c.recipient,
                LINKS.c.created_at,
                LINKS.c.expires_at,
                LINKS.c.used_at,
                LINKS.c.revoked_at,
                LINKS.c.revoked_by,
            )
            .where(LINKS.c.case_id == case_id)
            .order_by(LINKS.c.id.desc())
        )
    )


def _record_revocations(
    conn: Connection,
    per_case: dict[int, list[int]],
    by: Actor,
    now: datetime,
    scope: str,
    reason: str,
) -> None:
    """One event per case whose links were revoked, on its timeline (its state untouched)."""
    if not per_case:
        return
    conn.execute(
        insert(EVENTS),
        [
            {
                "case_id": case,
                "entity": "case",
                "entity_id": case,
                "version": None,  # no transition: the case's state is untouched
                "trigger": "revoke_links",
                "from_state": None,
                "to_state": None,
                "actor_kind": by.kind_value,
                "actor": by.id,
                "at": now,
                "data": {"links": sorted(ids), "scope": scope, "reason": reason},
            }
            for case, ids in sorted(per_case.items())
        ],
    )
