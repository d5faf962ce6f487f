"""`casework sheet fire`: move a liaison sheet by hand (send the draft `refer` opened, record an
answer given by phone, close or cancel it)."""

from __future__ import annotations

import click

from casework.cli.cases import action_options, data_pairs
from casework.cli.main import Context, acting_person


@click.group("sheet")
def sheet() -> None:
    """Les fiches de liaison (voir casework case show pour celles d'un dossier)."""


@sheet.command(
    "fire",
    epilog="""\b
Exemples :
  casework sheet fire 7 send --as claire
  casework sheet fire 7 give_feedback -d feedback="Logement trouvé au foyer" --as claire
  casework sheet fire 7 cancel -d reason="Le jeune a trouvé seul" --as claire
""",
)
@click.argument("sheet_id", type=int)
@click.argument("trigger")
@action_options("la fiche")
@click.pass_obj
def fire(
    context: Context,
    sheet_id: int,
    trigger: str,
    pairs: tuple[str, ...],
    expected_version: int | None,
    login: str | None,
) -> None:
    """Applique ACTION à la fiche n° FICHE, en une transaction (send : l'envoyer au
    partenaire, qui la reçoit par courriel)."""
    actor = acting_person(context.app, login)
    done = context.app.engine.fire_sheet(
        sheet_id, trigger, actor, expected_version, **data_pairs(pairs)
    )
    definition = context.app.workflows.latest("liaison").definition
    label = definition.states[done.dest].label
    click.echo(f"Fiche {done.entity_id} : {label.lower() if label else done.dest}.")
