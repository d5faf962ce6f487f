"""`casework workflows …`: check and draw the workflow definitions."""

from __future__ import annotations

import click

from casework.cli.main import Context
from casework.handlers import registry
from casework.states.catalog import check_workflows
from casework.states.diagram import mermaid, text_summary


@click.group()
def workflows() -> None:
    """Vérifier et afficher les workflows (fichiers workflows/*.yaml)."""


@workflows.command("check")
@click.pass_obj
def check(context: Context) -> None:
    """Liste les problèmes de définition, avec fichier et ligne ; statut 1 s'il y en a."""
    paths = context.settings.paths
    definitions, problems = check_workflows(paths.workflows, registry, paths.templates)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        raise click.ClickException(f"{len(problems)} problème(s) trouvé(s).")
    names = ", ".join(f"{d.name} v{d.version}" for d in definitions)
    click.echo(f"Workflows valides : {names}.")


@workflows.command("show")
@click.argument("name", required=False)
@click.option(
    "--mermaid", "as_mermaid", is_flag=True, help="Diagramme Mermaid, à coller dans une doc."
)
@click.pass_obj
def show(context: Context, name: str | None, as_mermaid: bool) -> None:
    """Affiche un workflow (ou tous) : états, minuteurs, transitions."""
    found = [d for d in context.app.workflows if name is None or d.name == name]
    if not found:
        raise click.ClickException(f"Workflow inconnu : {name}.")
    for definition in found:
        click.echo(mermaid(definition) if as_mermaid else text_summary(definition))
