"""`casework workflows …`: check and draw the workflow definitions; move running cases from
one version of a workflow to another (`migrate`)."""

from __future__ import annotations

import click

from casework import wording
from casework.actors import Actor
from casework.cli.main import Context, acting_person, as_option
from casework.clock import format_local
from casework.engine.migration import CaseMove, MigrationPlan
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


def _mapping(pairs: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            raise click.BadParameter(f"« {pair} » : attendu ancien=nouveau", param_hint="--map")
        if old.strip() in mapping:
            raise click.BadParameter(f"« {old.strip()} » est donné deux fois", param_hint="--map")
        mapping[old.strip()] = new.strip()
    return mapping


@workflows.command("migrate")
@click.argument("name", metavar="WORKFLOW")
@click.option("--from", "from_version", type=int, required=True, help="La version quittée.")
@click.option("--to", "to_version", type=int, required=True, help="La version d'arrivée.")
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="ANCIEN=NOUVEAU",
    help="Où vont les dossiers d'un état qui n'existe plus (répétable).",
)
@click.option("--dry-run", is_flag=True, help="Montrer ce qui changerait, sans rien enregistrer.")
@as_option("Qui fait la migration (gardé dans l'historique de chaque dossier)")
@click.pass_obj
def migrate(
    context: Context,
    name: str,
    from_version: int,
    to_version: int,
    pairs: tuple[str, ...],
    dry_run: bool,
    login: str | None,
) -> None:
    """Fait passer les dossiers en cours du WORKFLOW de la version --from à la version --to,
    tous ensemble en une transaction, chacun avec un événement dans son historique.

    Un dossier garde son état s'il existe dans la nouvelle version ; sinon --map dit où le
    mettre (refusé s'il en manque un). Ses minuteurs deviennent ceux de la nouvelle version,
    comptés depuis son entrée dans l'état (pas depuis la migration).

    \b
    Exemple :
      casework workflows migrate case --from 1 --to 2 --map consent_reminded=consent_asked --dry-run
    """
    app = context.app
    mapping = _mapping(pairs)
    actor = Actor.system("simulation") if dry_run else acting_person(app, login)
    plan = app.engine.migrate_workflow(
        name, from_version, to_version, mapping, actor, dry_run=dry_run
    )
    _show_plan(plan)
    n = len(plan.moves)
    if dry_run:
        click.echo("Simulation : rien n'a été enregistré.")
    else:
        click.echo(f"Migration faite : {n} dossier(s) en version {to_version}.")


def _show_plan(plan: MigrationPlan) -> None:
    before, after = plan.before, plan.after
    click.echo(
        f"{before.label} : de la version {before.version} à la version {after.version}, "
        f"{len(plan.moves)} dossier(s)."
    )
    for (source, dest), n in plan.by_states().items():
        click.echo(f"  {_step(plan, source, dest)} : {n} dossier(s)")
    for move in plan.moves:
        step = _step(plan, move.source, move.dest)
        click.echo(f"  Dossier {move.case_id} ({step}) : {_timers_said(plan, move)}")


def _step(plan: MigrationPlan, source: str, dest: str) -> str:
    """A state kept, by its label; a state mapped, by code and label (what --map names)."""
    if source == dest:
        return wording.state(plan.after, dest)
    before, after = wording.state(plan.before, source), wording.state(plan.after, dest)
    return f"{source} « {before} » → {dest} « {after} »"


def _timers_said(plan: MigrationPlan, move: CaseMove) -> str:
    """How a case's pending timers change, in French."""
    said = []
    for t in move.kept:
        said.append(f"« {wording.action(plan.after, t.trigger)} » le {format_local(t.due_at)}")
    for t in move.cancelled:
        label = wording.action(plan.before, t.trigger)
        said.append(f"« {label} » du {format_local(t.due_at)} annulé")
    for t in move.added:
        label = wording.action(plan.after, t.trigger)
        said.append(f"« {label} » le {format_local(t.due_at)} (nouveau)")
    if not said:
        return "aucun minuteur"
    unchanged = not move.cancelled and not move.added
    return ("minuteurs inchangés : " if unchanged else "minuteurs : ") + " ; ".join(said)
