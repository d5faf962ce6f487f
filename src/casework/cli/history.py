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
from casework.clock import format_local
from casework.errors import CaseworkError
from casework.queries import timeline
from casework.states.definition import WorkflowDef
from casework.text_hygiene import json_for_terminal


@click.command("history")
@click.argument("case_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Une ligne JSON par événement.")
@click.pass_obj
def history(context: Context, case_id: int, as_json: bool) -> None:
    """Historique d'un dossier et de ses fiches de liaison, à partir du journal d'audit."""
    from casework.partners.directory import partner_names

    with context.app.db.read() as conn:
        events = timeline(conn, case_id)
        named = set().union(*(wording.partner_ids(e.data or {}) for e in events))
        partners = partner_names(conn, named)
        definitions = {"case": definition_of_case(context, conn, case_id)}
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
    """One event as people read it: who, on what, which action, from which state to which,
    and what it recorded — labels, not codes (`--json` keeps the codes). `definitions`: the
    case's and its sheets' workflows, by entity kind."""
    definition = definitions.get(e.entity)
    # Events from before a migration (and the migration's own from-state) are in the words of
    # the newest version that has their states.
    versions = context.app.workflows.versions(definition.name) if definition else []

    def words_for(state: str | None) -> WorkflowDef | None:
        if definition is None or state is None or state in definition.states:
            return definition
        return next((d for d in versions if state in d.states), definition)

    own = words_for(e.from_state)  # the version the transition was taken in
    what = "dossier" if e.entity == "case" else f"fiche {e.entity_id}"
    action = wording.action(own, e.trigger)
    if e.to_state is None and e.from_state is not None:  # a timer set aside: no state change
        action += " (minuteur écarté)"
    before = wording.state(words_for(e.from_state), e.from_state)
    after = wording.state(words_for(e.to_state), e.to_state)
    if e.from_state is None and e.to_state is not None:
        step = f" : {after}"
    elif e.to_state is None:  # a fact recorded beside the transitions (an alert, links revoked)
        step = ""
    elif e.from_state == e.to_state:
        step = f" ({after})"
    else:
        step = f" : {before} → {after}"
    data = printable(wording.recorded(own, e.trigger, e.data, partners)) if e.data else ""
    who = printable(wording.actor(e.actor_kind, e.actor))
    return f"{format_local(e.at)}  {who:20}  {what:8}  {action}{step}" + (
        f"  ({data})" if data else ""
    )
