"""`casework intake assign COHORT --dry-run`: who of the cohort is eligible, who is not and why;
nothing is written."""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from casework.app import App
from casework.cli.main import printable
from casework.cli.reads import Reader
from casework.intake.candidates import roll
from casework.intake.eligibility import describe
from casework.models.beneficiary import display_name


def show_roll(app: App, reader: Reader, cohort: int, limit: int) -> None:
    with app.db.read() as conn:
        found = roll(conn, app, cohort)
    reader.saw()  # names the young people of the cohort: a read, though nothing is written
    click.echo(f"Cohorte {cohort} — simulation : rien n'est enregistré.")
    click.echo(f"Règle : {describe(found.rule, found.season)}.")
    if not found.matched_yet:
        click.echo(
            f"Aucun rapprochement pour l'instant : lancez d'abord casework intake match {cohort}."
        )
    click.echo(
        f"{len(found.eligible)} contrat(s) retenu(s), {len(found.refused)} non retenu(s)"
        + (f", {found.already} déjà en dossier" if found.already else "")
        + "."
    )
    if found.eligible:
        click.echo("\nRetenus :")
        _listed([f"{key}  {_who(cma)}{_with(ml)}" for key, cma, ml in found.eligible], limit)
    if found.refused:
        click.echo("\nNon retenus :")
        _listed(
            [f"{key}  {_who(cma)} : {' ; '.join(why)}" for key, cma, why in found.refused], limit
        )


def _listed(lines: list[str], limit: int) -> None:
    shown = lines if limit <= 0 else lines[:limit]
    for line in shown:
        click.echo(f"  {printable(line)}")
    if len(shown) < len(lines):
        click.echo(f"  … et {len(lines) - len(shown)} autre(s) (--limit 0 : tous)")


def _who(row: dict[str, Any]) -> str:
    """ "Léa MARTIN, CAP Boulanger, contrat commencé le 01/09/2026", without empty parts."""
    name = display_name(row.get("first_names") or "", row.get("birth_name") or "") or "sans nom"
    start = date.fromisoformat(row["start_date"]).strftime("%d/%m/%Y")
    return ", ".join(filter(None, (name, row.get("diploma"), f"début le {start}")))


def _with(ml: dict[str, Any]) -> str:
    return f" (jeune {ml['ml_id']} de la Mission Locale)" if ml else ""
