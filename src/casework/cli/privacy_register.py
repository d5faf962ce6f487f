"""`casework privacy register`: the record of processing, from the settings in force."""

from __future__ import annotations

import os
from pathlib import Path

import click

from casework.cli.main import Context
from casework.cli.privacy import privacy
from casework.french import os_error


@privacy.command("register")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Écrire la fiche dans ce fichier Markdown (défaut : l'afficher).",
)
@click.pass_obj
def register(context: Context, out: Path | None) -> None:
    """La fiche du registre des traitements (article 30 du RGPD), en Markdown : données et
    durées de conservation, destinataires, mesures de sécurité, tirées des réglages. Ce que
    seul l'organisme sait (responsable, DPO, base légale) vient de la section [privacy]."""
    from casework.clock import SystemClock
    from casework.privacy.register import render_register, warnings

    settings = context.settings
    text = render_register(settings, SystemClock().now(), _settings_source(context))
    if out is None:
        click.echo(text, nl=False)
    else:
        temporary = out.with_name(f".{out.name}.partiel")
        try:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, out)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise click.ClickException(f"« {out} » : {os_error(error, writing=True)}") from None
        click.echo(f"Registre écrit dans « {out} ».")
    to_fill = warnings(settings)
    if to_fill:
        click.echo(
            f"{len(to_fill)} point{'s' if len(to_fill) > 1 else ''} à compléter ou à revoir "
            "(section « Points à compléter ou à revoir »).",
            err=True,
        )


def _settings_source(context: Context) -> str:
    path = context.config or os.environ.get("CASEWORK_CONFIG")
    if path is None and Path("casework.toml").is_file():
        path = "casework.toml"
    return f"fichier {path}" if path else "réglages par défaut"
