"""The domain rules live in the workflow files, and a rename there that the code would trip on
fails `casework workflows check` with the file and the line."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from click.testing import CliRunner

from casework.cli import main
from casework.errors import Problem
from casework.handlers import registry
from casework.resources import default_templates_dir, default_workflows_dir
from casework.states.catalog import check_workflows
from casework.states.requirements import DECLARING_MODULES

SRC = Path(__file__).resolve().parents[2] / "src"


def copied(tmp_path: Path) -> Path:
    folder = tmp_path / "workflows"
    shutil.copytree(default_workflows_dir(), folder)
    return folder


def edited(folder: Path, file: str, old: str, new: str, count: int = 1) -> int:
    """Replace `old` (found exactly `count` times) in a copied file; returns its first line."""
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == count, (old, text.count(old))
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return line


def problems(folder: Path) -> list[Problem]:
    return check_workflows(folder, registry, default_templates_dir())[1]


def top(path: Path) -> int:
    """The line of the workflow's first key (problems about the whole workflow point there)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.startswith("workflow:"))


def said(found: list[Problem], file: Path, line: int) -> list[str]:
    return [p.message for p in found if p.file == str(file) and p.line == line]


def test_the_shipped_workflows_declare_what_the_code_reads(tmp_path: Path) -> None:
    definitions, found = check_workflows(default_workflows_dir(), registry, default_templates_dir())
    assert found == []
    named = {d.name: d for d in definitions}
    case, liaison = named["case"], named["liaison"]
    assert dict(case.start) == {"test": "ask_consent", "control": "track_outcomes"}
    assert [d.trigger for d in case.digest] == [
        "give_consent",
        "record_contact",
        "start_reorientation",
        "record_assessment",
    ]
    assert list(case.phases) == ["identification", "consent", "follow_up", "rupture"]
    assert (case.phase_of("consent_reminded"), case.phase_of("outcome_tracking")) == (
        "consent",
        None,
    )
    assert case.trigger_tagged("rupture") == "rupture"
    assert case.states_tagged("overdue") == ("consent_reminded",)
    assert {s: r.trigger for s, r in liaison.replies.items()} == {
        "sent": "acknowledge",
        "overdue": "acknowledge",
        "acknowledged": "give_feedback",
    }
    assert liaison.reply_needs_text(liaison.replies["acknowledged"])
    assert not liaison.reply_needs_text(liaison.replies["sent"])
    assert (liaison.trigger_tagged("reminder"), liaison.trigger_tagged("deadline")) == (
        "remind",
        "mark_overdue",
    )
    assert liaison.states["sent"].awaits == "accusé de réception"


def test_a_renamed_digest_state_fails_the_check_at_its_line(tmp_path: Path) -> None:
    folder = copied(tmp_path)
    # `follow_up` becomes `monthly` everywhere but in the digest's line.
    path = folder / "case.yaml"
    text = path.read_text(encoding="utf-8")
    renamed = re.sub(r"\bfollow_up\b", "monthly", text)
    renamed = renamed.replace("  - states: monthly\n", "  - states: follow_up\n")
    path.write_text(renamed, encoding="utf-8")
    line = renamed[: renamed.index("  - states: follow_up")].count("\n") + 1
    assert said(problems(folder), path, line) == [
        "ligne du résumé « Point mensuel » : l'état « follow_up » n'existe pas"
    ]


def test_a_phase_names_states_that_exist_each_in_one_phase(tmp_path: Path) -> None:
    folder = copied(tmp_path)
    path = folder / "case.yaml"
    line = edited(
        folder,
        "case.yaml",
        "  consent: {label: Consentement, states: [consent_asked, consent_reminded]}",
        "  consent: {label: Consentement, states: [consent_asked, consent_chased, identified]}",
    )
    assert said(problems(folder), path, line) == [
        "phase « consent » : l'état « consent_chased » n'existe pas",
        "phase « consent » : l'état « identified » est déjà dans la phase « identification »",
    ]


def test_a_renamed_reply_state_fails_the_check_at_its_line(tmp_path: Path) -> None:
    folder = copied(tmp_path)
    line = edited(
        folder,
        "liaison.yaml",
        "  acknowledged: {fire: give_feedback",
        "  taken: {fire: give_feedback",
    )
    found = problems(folder)
    assert said(found, folder / "liaison.yaml", line) == [
        "réponse dans l'état « taken » : l'état « taken » n'existe pas"
    ]


def test_a_reply_must_fire_a_partner_trigger_that_takes_its_text(tmp_path: Path) -> None:
    folder = copied(tmp_path)
    line = edited(
        folder, "liaison.yaml", "give_feedback, text: feedback", "give_feedback, text: notes"
    )
    found = problems(folder)
    assert said(found, folder / "liaison.yaml", line) == [
        "réponse dans l'état « acknowledged » : « give_feedback » n'a pas de champ texte "
        "« notes » pour le texte de la réponse"
    ]
    line = edited(folder, "liaison.yaml", "  sent: {fire: acknowledge", "  sent: {fire: cancel")
    assert said(problems(folder), folder / "liaison.yaml", line) == [
        "réponse dans l'état « sent » : le déclencheur « cancel » n'est pas permis à un "
        "partenaire depuis cet état"
    ]


def test_a_renamed_required_trigger_fails_the_check_naming_who_needs_it(tmp_path: Path) -> None:
    folder = copied(tmp_path)
    edited(folder, "case.yaml", "trigger: reassign", "trigger: hand_over")
    found = problems(folder)
    assert said(found, folder / "case.yaml", top(folder / "case.yaml")) == [
        "il manque le déclencheur « reassign » (le changement de référent (handover.py) en dépend)"
    ]


def test_a_tagged_trigger_must_be_one_and_take_the_fields_the_code_passes(tmp_path: Path) -> None:
    folder = copied(tmp_path)
    edited(folder, "case.yaml", "    tags: [rupture]\n", "", count=3)
    found = problems(folder)
    assert said(found, folder / "case.yaml", top(folder / "case.yaml")) == [
        "un seul déclencheur doit porter l'étiquette « rupture » (aucun) "
        "(l'import des ruptures (intake/importer.py) en dépend)"
    ]
    folder = copied(tmp_path / "again")
    edited(folder, "case.yaml", "rupture_date: {type: date", "broken_on: {type: date")
    found = [p.message for p in problems(folder)]
    assert any("« rupture » doit prendre le champ « rupture_date » (date)" in m for m in found)


def test_start_and_digest_lines_are_checked(tmp_path: Path) -> None:
    folder = copied(tmp_path)
    start = edited(folder, "case.yaml", "  control: track_outcomes\n", "  témoin: track_outcomes\n")
    found = problems(folder)
    messages = said(found, folder / "case.yaml", start - 2)
    assert "« start » : groupe inconnu « témoin » (test ou control)" in messages
    assert any("groupe « control » (le démarrage des dossiers" in m for m in messages)
    folder = copied(tmp_path / "again")
    line = edited(folder, "case.yaml", "unless: contacted_in_state", "unless: contacted")
    found = problems(folder)
    assert said(found, folder / "case.yaml", line - 2) == [
        "ligne du résumé « Point mensuel » : filtre « contacted » inconnu "
        "(connus : contacted_in_state)"
    ]
    line = edited(folder, "case.yaml", "fire: start_reorientation", "fire: positive_exit")
    assert said(problems(folder), folder / "case.yaml", line - 1) == [
        "ligne du résumé « Rupture à traiter » : le déclencheur « positive_exit » n'est pas "
        "permis au conseiller depuis l'état « rupture »"
    ]


def test_workflows_check_says_it_in_french_with_file_and_line(tmp_path: Path) -> None:
    folder = copied(tmp_path)
    line = edited(
        folder, "liaison.yaml", "  overdue: {fire: acknowledge", "  late: {fire: acknowledge"
    )
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = CliRunner().invoke(
        main,
        ["--database", url, "workflows", "check"],
        env={"CASEWORK_PATHS_WORKFLOWS": str(folder)},
    )
    assert result.exit_code == 1
    assert (
        f"{folder / 'liaison.yaml'}:{line}: réponse dans l'état « late » : l'état « late » "
        "n'existe pas" in result.output
    )


def test_every_module_that_requires_names_is_checked() -> None:
    """A `requires(...)` in a module the check does not import would never be checked."""
    calling = set()
    for path in SRC.rglob("*.py"):
        if re.search(r"^requires\(", path.read_text(encoding="utf-8"), re.MULTILINE):
            calling.add(".".join(path.relative_to(SRC).with_suffix("").parts))
    assert calling == set(DECLARING_MODULES)
