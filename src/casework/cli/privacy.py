"""`casework privacy`: personal data over its whole life (see `casework.privacy`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from casework.cli.main import Context

F = TypeVar("F", bound=Callable[..., Any])


@click.group("privacy")
def privacy() -> None:
    """Données personnelles : durées de conservation et purge, droits des personnes (copie,
    rectification, effacement), journal des consultations, registre des traitements."""


def person_options(command: F) -> F:
    """`PERSON` (the young person's number) or `--case N` (one of their cases): exactly one."""
    command = click.option(
        "--case",
        "case_id",
        type=int,
        metavar="N",
        help="La personne suivie dans ce dossier (au lieu de son numéro).",
    )(command)
    return click.argument("person_id", metavar="[PERSONNE]", type=int, required=False)(command)


def checked_person(context: Context, person_id: int | None, case_id: int | None) -> int:
    """The person's number from `person_options`' values, or a French refusal."""
    from casework.errors import CaseworkError
    from casework.privacy.people import find_person

    if (person_id is None) == (case_id is None):
        raise click.UsageError("Donnez le numéro de la personne, ou --case N, et pas les deux.")
    with context.app.db.read() as conn:
        try:
            return find_person(conn, person_id, case_id)
        except CaseworkError as error:
            raise click.ClickException(error.french()) from None
