"""The access log as privacy reads it: where a read came from, and the entries about one young
person (every case of theirs), one user or one case. The rows are written by the staff pages
(`casework.web.staff.page.PageContext.record_view`) and the commands that print personal data
(`casework.cli.reads.Reader`); the purge (`[privacy] access_log_months`) ends them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from casework.accounts.access_log import read_access_log
from casework.clock import format_local
from casework.privacy.people import cases_of

# The `address` of a read made from the command line: with `--as LOGIN` (a casework user,
# checked), or without (the terminal's own login, taken as it is).
TERMINAL = "terminal"
TERMINAL_UNCHECKED = "terminal-unchecked"


def origin(address: str | None) -> str:
    """Where a read came from, in French: "depuis 192.0.2.1", "depuis le terminal"…"""
    if not address:
        return ""
    if address == TERMINAL:
        return "depuis le terminal"
    if address == TERMINAL_UNCHECKED:
        return "depuis le terminal (compte du système, sans --as)"
    return f"depuis {address}"


def entries(
    conn: Connection,
    *,
    person_id: int | None = None,
    case_id: int | None = None,
    login: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> Sequence[Any]:
    """Entries matching every filter given, newest first; a person's are those of all their
    cases (a listing, which names no case, is not among them)."""
    if person_id is not None:
        cases = cases_of(conn, person_id)
        if not cases:
            return []
        return read_access_log(conn, login=login, case_ids=cases, since=since, limit=limit)
    return read_access_log(conn, login=login, case_id=case_id, since=since, limit=limit)


def as_json(row: Any) -> dict[str, Any]:
    """One entry for `--json`: the time in UTC (ISO 8601) and in Paris, as shown."""
    return {
        "at": row.at.isoformat(),
        "at_paris": format_local(row.at),
        "user": row.user_login,
        "page": row.page,
        "case_id": row.case_id,
        "address": row.address,
    }
