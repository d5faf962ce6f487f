"""Giving test cases their referent and starting a cohort: the options `intake assign` and
`casework cases start` share, and `cases start` itself."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

import click

from casework.cli.cases import cases
from casework.cli.main import CheckedText, Context, acting_person, as_option
from casework.handover import TRIGGER
from casework.intake.launch import ALLOCATIONS, LaunchRefused, Referents, allocate, start, waiting
from casework.text_limits import LOGIN

F = TypeVar("F", bound=Callable[..., Any])


def referent_options(func: F) -> F:
    """--referent LOGIN | --allocate balanced|territory."""
    func = click.option(
        "--allocate",
        "allocate_how",
        type=click.Choice(ALLOCATIONS),
        help="Répartir les dossiers du groupe test entre les conseillers actifs : balanced (à "
        "qui en suit le moins), territory (de même, parmi ceux dont le territoire couvre le "
        "département du jeune).",
    )(func)
    return click.option(
        "--referent",
        type=CheckedText(LOGIN),
        metavar="IDENTIFIANT",
        help="Le conseiller qui suivra tous les dossiers du groupe test.",
    )(func)


def referents(referent: str | None, how: str | None) -> Referents:
    try:
        return Referents(login=referent, allocate=how)
    except LaunchRefused as refused:
        raise click.UsageError(refused.french()) from None


def started_line(started: dict[str, int]) -> str:
    """'38 dossiers test : consentement demandé ; 41 témoins : suivi des résultats.'"""
    parts = []
    if started.get("test"):
        parts.append(f"{started['test']} dossier(s) test : consentement demandé au référent")
    if started.get("control"):
        parts.append(f"{started['control']} dossier(s) témoin : suivi des résultats seulement")
    return " ; ".join(parts) + "." if parts else "Aucun dossier à démarrer."


@cases.command("start")
@click.option("--cohort", type=int, required=True, help="L'année de campagne.")
@referent_options
@as_option("Qui démarre")
@click.pass_obj
def start_command(
    context: Context, cohort: int, referent: str | None, allocate_how: str | None, login: str | None
) -> None:
    """Démarre les dossiers d'une cohorte encore au stade « identifié » : groupe test, le
    consentement est demandé (le courriel part au référent) ; groupe témoin, seul le résultat
    est suivi. Les dossiers du groupe test sans référent en reçoivent un (--referent ou
    --allocate), sinon rien n'est fait. Une seule transaction.

    \b
    Exemples (après `casework intake assign … --no-start`) :
      casework cases start --cohort 2026
      casework cases start --cohort 2026 --allocate balanced
    """
    app = context.app
    actor = acting_person(app, login)
    how = referents(referent, allocate_how)
    with app.db.transaction() as conn:
        found = waiting(conn, app, cohort)
        orphans = [(str(i), dep) for i, group, ref, dep in found if group == "test" and not ref]
        chosen = allocate(conn, app, orphans, how) if orphans else {}
        given: dict[str, list[int]] = defaultdict(list)
        for case_id, to in chosen.items():
            given[to].append(int(case_id))
        for to, ids in sorted(given.items()):  # through the engine: audited like a handover
            app.engine.fire_many(
                "case", ids, TRIGGER, actor, {"to": to, "reason": "démarrage"}, conn=conn
            )
        done = start(conn, app, {i: group for i, group, _r, _d in found}, actor)
    if chosen:
        click.echo(f"{len(chosen)} dossier(s) du groupe test ont reçu un référent.")
    click.echo(f"Cohorte {cohort} : {started_line(done.started)}")
