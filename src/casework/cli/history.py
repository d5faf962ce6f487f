"""`casework history`: a case's audit trail and its sheets', as people read it.

Each event says who acted, on what, which action, from which state to which and what it
recorded, in labels rather than codes, in the words of the workflow version it was taken in
(`--json` keeps the codes). It only reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click

from casework import wording
from casework.cli.cases import definition_of_case
from casework.cli.main import Context, printable
from casework.cli.reads import Reader, reader_option
from casework.clock import format_local
from casework.errors import CaseworkError
from casework.queries import timeline
from casework.states.definition import WorkflowDef
from casework.text_hygiene import json_for_terminal


@click.command("history")
@click.argument("case_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Une ligne JSON par événement.")
@reader_option
@click.pass_obj
def history(context: Context, case_id: int, as_json: bool, reader_login: str | None) -> None:
    """Historique d'un dossier et de ses fiches de liaison, à partir du journal d'audit
    (inscrit au journal des consultations)."""
    from casework.partners.directory import partner_names

    reader = Reader.of(context, reader_login)
    with context.app.db.read() as conn:
        events = timeline(conn, case_id)
        named = set().union(*(wording.partner_ids(e.data or {}) for e in events))
        partners = partner_names(conn, named)
        definitions = {"case": definition_of_case(context, conn, case_id)}
    reader.saw([case_id])
    try:
        definitions["liaison"] = context.app.workflows.latest("liaison").definition
    except CaseworkError:
        definitions["liaison"] = None
    for e in events:
        if as_json:
            click.echo(json_for_terminal({**e._asdict(), "at": e.at.isoformat()}))
            continue
        click.echo(_event_line(context, e, definitions, partners))


def _event_line(
    context: Context,
    e: Any,
    definitions: Mapping[str, WorkflowDef | None],
    partners: dict[int, str],
) -> str:
    """One event as people read it (`wording.event`), on one line of the terminal."""
    versions = {d.name: context.app.workflows.versions(d.name) for d in definitions.values() if d}
    words = wording.event(e, definitions, versions, partners)
    data = printable(words.data)
    who = printable(words.who)
    return f"{format_local(e.at)}  {who:20}  {words.what:8}  {words.action}{words.step}" + (
        f"  ({data})" if data else ""
    )
