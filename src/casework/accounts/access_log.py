"""The access log: who looked at which page and which case, when, from where.

Every staff page that shows personal data calls `record_access` (through the page's context,
`casework.web.staff.pages.PageContext.looked_at`) in the same request, before answering, and so
does every command that prints it (`casework.cli.reads`); an administrator reads the log with
`casework privacy access-log` (`casework.privacy.access`). Rows are only added here; the
purge removes them after `[privacy] access_log_months`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from casework.models.tables import ACCESS_LOG


def record_access(
    conn: Connection,
    *,
    login: str,
    page: str,
    now: datetime,
    case_id: int | None = None,
    address: str | None = None,
) -> None:
    conn.execute(
        insert(ACCESS_LOG),
        {
            "user_login": login,
            "page": page[:200],
            "case_id": case_id,
            "at": now,
            "address": (address or "")[:64] or None,
        },
    )


def read_access_log(
    conn: Connection,
    *,
    login: str | None = None,
    case_id: int | None = None,
    case_ids: Collection[int] | None = None,
    since: datetime | None = None,
    limit: int = 1000,
) -> Sequence[Any]:
    """Entries matching every filter given (`case_ids`: any of these cases), newest first."""
    query = select(ACCESS_LOG).order_by(ACCESS_LOG.c.at.desc(), ACCESS_LOG.c.id.desc())
    if login is not None:
        query = query.where(ACCESS_LOG.c.user_login == login)
    if case_id is not None:
        query = query.where(ACCESS_LOG.c.case_id == case_id)
    if case_ids is not None:
        query = query.where(ACCESS_LOG.c.case_id.in_(list(case_ids)))
    if since is not None:
        query = query.where(ACCESS_LOG.c.at >= since)
    return conn.execute(query.limit(limit)).all()
