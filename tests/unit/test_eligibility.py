"""Eligibility declared per cohort in the settings: read, checked, and applied to a row."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from casework.intake.eligibility import Rule, judge, window
from casework.settings import SettingsError, load_settings

SEASON = (date(2026, 7, 1), date(2026, 12, 31))
ROW = {
    "start_date": "2026-09-01",
    "diploma": "CAP Boulanger",
    "diploma_level": 3,
    "training_year": 1,
    "training_centre_uai": "0530914B",
    "training_centre_name": "CFA de la CMA de la Mayenne",
    "learner_status": "apprentice",
}


def settings_from(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    config = tmp_path / "casework.toml"
    config.write_text(text, encoding="utf-8")
    return load_settings(config, environ={})


def test_every_cohort_takes_both_files_in_the_season_by_default(tmp_path: Path) -> None:
    rule = settings_from(tmp_path, "").intake.eligibility.rule(2026)
    assert rule == Rule()
    assert rule.needs_both_files
    assert window(rule, 2026, "07-01", "12-31") == SEASON


def test_a_cohort_has_its_own_rule_and_takes_the_rest_from_the_common_one(
    tmp_path: Path,
) -> None:
    eligibility = settings_from(
        tmp_path,
        "[intake.eligibility]\n"
        "levels = ['V', 4]\n"
        "[intake.eligibility.2027]\n"
        'files = "cma"\n'
        'diplomas = ["cap", "BP", "Bac Pro"]\n'
        'training_years = ["1re année"]\n'
        'training_centres = ["0530914b", "CFA du Bâtiment"]\n'
        'statuses = ["apprentie"]\n'
        'campaign_start = "06-15"\n'
        'campaign_end = "2028-01-31"\n',
    ).intake.eligibility
    assert eligibility.rule(2026) == Rule(levels=(3, 4))
    own = eligibility.rule(2027)
    assert own == Rule(
        files="cma",
        diplomas=("CAP", "BP", "Bac pro"),
        levels=(3, 4),
        training_years=(1,),
        training_centres=("0530914B", "cfa du batiment"),
        statuses=("apprentice",),
        campaign_start="06-15",
        campaign_end="2028-01-31",
    )
    assert window(own, 2027, "07-01", "12-31") == (date(2027, 6, 15), date(2028, 1, 31))


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ('files = "ml"', "intake.eligibility.files", "« both » (les deux fichiers) ou « cma »"),
        ('diplomas = ["CAPES"]', "intake.eligibility.diplomas", "diplôme « CAPES » inconnu"),
        ("levels = [9]", "intake.eligibility.levels", "niveau « 9 » inconnu (3 à 7, ou V à I)"),
        ('statuses = ["salarié"]', "intake.eligibility.statuses", "statut « salarié » inconnu"),
        ('diplomas = "CAP"', "intake.eligibility.diplomas", "doit être une liste"),
        ("centres = []", "intake.eligibility.centres", "clé inconnue"),
        ('campaign_start = "13-01"', "intake.eligibility.campaign_start", "n'est pas une date"),
        (
            'campaign_start = "2026-12-01"\ncampaign_end = "2026-07-01"',
            "intake.eligibility",
            "la fenêtre de signature finit avant de commencer",
        ),
    ],
)
def test_a_rule_that_cannot_be_used_stops_every_command_with_a_french_message(
    tmp_path: Path, text: str, key: str, reason: str
) -> None:
    with pytest.raises(SettingsError) as error:
        settings_from(tmp_path, f"[intake.eligibility]\n{text}\n")
    assert error.value.key == key
    assert reason in error.value.french()


def test_a_month_day_window_may_run_across_the_new_year(tmp_path: Path) -> None:
    eligibility = settings_from(
        tmp_path,
        "[intake.eligibility]\n"
        'campaign_start = "09-01"\n'
        'campaign_end = "02-29"\n'
        "[intake.eligibility.2027]\n"
        'campaign_start = "2027-09-01"\n'
        'campaign_end = "02-28"\n',  # a date and a month-day are never compared
    ).intake.eligibility
    rule = eligibility.rule(2026)
    # 1 September of the cohort's year to the end of February of the next (2027: no 29th).
    assert window(rule, 2026, "07-01", "12-31") == (date(2026, 9, 1), date(2027, 2, 28))
    assert window(rule, 2027, "07-01", "12-31") == (date(2027, 9, 1), date(2028, 2, 29))
    row = {**ROW, "start_date": "2027-01-15"}
    assert judge(row, rule, window(rule, 2026, "07-01", "12-31")) == []
    # A window that does not wrap stays in the cohort's year; the rule's end with [intake]'s
    # start wraps too.
    assert window(Rule(campaign_end="03-31"), 2026, "07-01", "12-31") == (
        date(2026, 7, 1),
        date(2027, 3, 31),
    )
    assert window(Rule(), 2026, "01-01", "01-01") == (date(2026, 1, 1), date(2026, 1, 1))


def test_a_table_is_set_in_the_file_not_the_environment() -> None:
    with pytest.raises(SettingsError, match="se règle dans le fichier"):
        load_settings(environ={"CASEWORK_INTAKE_ELIGIBILITY": "cma"})


def test_the_plausible_ages_are_a_setting_checked_at_load(tmp_path: Path) -> None:
    assert settings_from(tmp_path, "[intake]\nmin_age = 15\nmax_age = 29\n").intake.max_age == 29
    with pytest.raises(SettingsError, match=r"intake\.min_age"):
        settings_from(tmp_path, "[intake]\nmin_age = 31\n")


def test_an_eligible_row_gets_no_reason() -> None:
    rule = Rule(
        diplomas=("CAP", "BP", "Bac pro"),
        levels=(3, 4),
        training_years=(1,),
        training_centres=("0530914B",),
        statuses=("apprentice",),
    )
    assert judge(ROW, rule, SEASON) == []
    # A centre by name, folded; a level from the diploma's name when the file has none.
    by_name = Rule(training_centres=("cfa de la cma de la mayenne",), levels=(3,))
    assert judge({**ROW, "training_centre_uai": None, "diploma_level": None}, by_name, SEASON) == []


@pytest.mark.parametrize(
    ("change", "rule", "reason"),
    [
        ({"diploma": None}, Rule(diplomas=("CAP",)), "diplôme non renseigné (retenu : CAP)"),
        (
            {"diploma": "Capacité en droit"},
            Rule(diplomas=("CAP", "BP")),
            "diplôme « Capacité en droit » non reconnu (retenus : CAP, BP)",
        ),
        ({"diploma_level": 5}, Rule(levels=(3, 4)), "niveau 5 (retenus : 3, 4)"),
        (
            {"diploma_level": None, "diploma": None},
            Rule(levels=(3,)),
            "niveau non renseigné (retenu : 3)",
        ),
        (
            {"training_year": None},
            Rule(training_years=(1,)),
            "année de formation non renseignée (retenue : 1re)",
        ),
        (
            {"learner_status": None},
            Rule(statuses=("apprentice",)),
            "statut non renseigné (retenu : apprenti)",
        ),
        (
            {"training_centre_uai": None, "training_centre_name": None},
            Rule(training_centres=("0530914B",)),
            "CFA non renseigné",
        ),
    ],
)
def test_a_row_that_does_not_say_is_not_taken_and_the_reason_says_so(
    change: dict, rule: Rule, reason: str
) -> None:
    assert judge({**ROW, **change}, rule, SEASON) == [reason]


def test_every_reason_is_given_not_only_the_first() -> None:
    rule = Rule(diplomas=("CAP",), statuses=("apprentice",))
    row = {**ROW, "start_date": "2027-01-15", "diploma": "BTS MCO", "learner_status": "student"}
    assert judge(row, rule, SEASON) == [
        "contrat commencé le 15/01/2027, hors de la fenêtre de signature "
        "(du 01/07/2026 au 31/12/2026)",
        "diplôme BTS (retenu : CAP)",
        "statut étudiant (retenu : apprenti)",
    ]


def test_a_cohort_names_its_workflow_and_version(tmp_path: Path) -> None:
    eligibility = settings_from(
        tmp_path,
        "[intake.eligibility]\n"
        "workflow_version = 1\n"
        "[intake.eligibility.2027]\n"
        'workflow = "pre_apprenticeship"\n'
        "[intake.eligibility.2028]\n"
        'workflow = "pre_apprenticeship"\n'
        "workflow_version = 2\n",
    ).intake.eligibility
    assert (eligibility.rule(2026).workflow, eligibility.rule(2026).workflow_version) == ("case", 1)
    # Another workflow than the common rule's: not that workflow's version, its latest.
    assert eligibility.rule(2027).workflow == "pre_apprenticeship"
    assert eligibility.rule(2027).workflow_version is None
    assert eligibility.rule(2028).workflow_version == 2
    assert eligibility.workflows() == {
        "intake.eligibility": ("case", 1),
        "intake.eligibility.2027": ("pre_apprenticeship", None),
        "intake.eligibility.2028": ("pre_apprenticeship", 2),
    }


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('workflow = ""', "le nom d'un workflow"),
        ("workflow = 3", "le nom d'un workflow"),
        ("workflow_version = 0", "un numéro de version entier"),
        ('workflow_version = "2"', "un numéro de version entier"),
        ("workflow_version = true", "un numéro de version entier"),
    ],
)
def test_a_workflow_that_cannot_be_named_is_refused(tmp_path: Path, line: str, said: str) -> None:
    with pytest.raises(SettingsError) as refused:
        settings_from(tmp_path, f"[intake.eligibility.2027]\n{line}\n")
    assert said in refused.value.french()
