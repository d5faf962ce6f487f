"""An organisation's file imported from the Imports page, as `casework intake import` imports
it: the dry run first, kept with the upload as plain values the page shows (counts, every
rejected row's line, column and reason, the columns nothing is read from), then the import
itself, through the same `Importer` (one transaction; the same bytes twice change nothing).

What the command line says with flags and paths is said here in the page's words: never a
server path (the file waits in a temporary folder under the name it was sent with), never
`--skip-invalid` (the page's checkbox).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from casework.actors import Actor
from casework.app import App
from casework.clock import format_local
from casework.errors import CaseworkError
from casework.intake.fields import Problem
from casework.intake.importer import Importer, ImportRefused, ImportReport
from casework.intake.profile import default_profile
from casework.intake.reading import Checked, check_file
from casework.text_limits import shown
from casework.wording import actor as actor_label

# The profiles `casework intake import` offers, as the page names the organisations.
SOURCES = {
    "cma": "Chambre de métiers et de l'artisanat (contrats d'apprentissage)",
    "ml": "Mission Locale (jeunes suivis)",
}


def dry_run(app: App, path: Path, source: str, skip_invalid: bool, actor: Actor) -> dict[str, Any]:
    """What importing the file would do, written nowhere: a dict of plain values (kept as
    JSON with the upload). `refused`: why nothing could be imported (then no confirmation)."""
    profile = default_profile(source)
    checked: Checked | None = None
    try:
        checked = check_file(path, profile, app.settings.intake)
        report = Importer(app).run(
            path, source, profile, actor=actor, skip_invalid=skip_invalid, dry_run=True,
            checked=checked,
        )  # fmt: skip
    except ImportRefused as refused:
        return {
            "refused": _refusal(refused, skip_invalid),
            "problems": _problems(refused.problems),
            "ignored": checked.ignored if checked is not None else [],
        }
    except CaseworkError as error:  # unreadable, too large, the database refusing
        return {"refused": without_path(error.french(), path), "problems": [], "ignored": []}
    if report.already is not None:
        earlier = report.already
        return {
            "already": {
                "id": earlier.id,
                "at": format_local(earlier.imported_at),
                "by": imported_by(earlier.imported_by),
            }
        }
    assert checked is not None
    return {
        "described": report.described,
        "created": len(report.created),
        "updated": len(report.updated),
        "unchanged": report.unchanged,
        "incomplete": report.incomplete,
        "contracts_updated": report.contracts_updated,
        "ruptures": [[key, case_id] for key, case_id, _said in report.ruptures],
        "rejected": report.rejected,
        "problems": _problems(checked.problems),
        "ignored": report.ignored,
    }


def run(app: App, path: Path, source: str, skip_invalid: bool, actor: Actor) -> ImportReport:
    """The import itself, as `casework intake import` runs it; the copy of the rejected rows
    the command writes beside the file goes to the upload's own folder (removed with it: the
    rows are kept with the import, `casework intake rejects` and the page read them there)."""
    profile = default_profile(source)
    return Importer(app).run(
        path,
        source,
        profile,
        actor=actor,
        skip_invalid=skip_invalid,
        rejected_to=path.parent.parent / "rejets.csv",
    )


def imported_by(stored: str) -> str:
    """ "person:sophie" → "sophie", as the history reads who acted."""
    kind, _, who = stored.partition(":")
    return actor_label(kind, who) if who else stored


def without_path(message: str, path: Path) -> str:
    """A message about the uploaded file with the server's folder taken out: its name only."""
    return message.replace(str(path), path.name)


def _refusal(refused: ImportRefused, skip_invalid: bool) -> str:
    whole = refused.problems and any(p.summary for p in refused.problems)
    if whole:
        said = " ; ".join(dict.fromkeys(p.summary for p in refused.problems if p.summary))
        return f"Le fichier ne peut pas être lu : {said}. Rien ne peut en être importé."
    lines = len({p.line for p in refused.problems})
    rows = "une ligne fautive" if lines == 1 else f"{lines} lignes fautives"
    if skip_invalid:
        return f"Aucune ligne n'est valable ({rows}) : rien ne peut en être importé."
    return (
        f"Le fichier a {rows} : il serait refusé en entier. Pour importer les autres lignes et "
        "écarter celles-ci, envoyez-le à nouveau en cochant « Écarter les lignes fautives »."
    )


def _problems(problems: list[Problem]) -> list[list[Any]]:
    """Each problem as [line, column, value, reason], as the page lists them."""
    return [
        [p.line, p.column or "", shown(p.value) if p.value not in (None, "") else "", p.reason]
        for p in problems
    ]
