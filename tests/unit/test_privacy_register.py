"""`casework privacy register`: the record of processing, from the settings in force."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from casework.cli.main import main
from casework.french import faults
from casework.privacy.register import duration_fr
from casework.privacy.retention import CATEGORIES
from casework.settings import load_settings

FILLED = """
[privacy]
controller = "Mission Locale de la Mayenne, 12 rue de Paris, 53000 Laval"
dpo_contact = "dpo@ml53.example"
legal_basis = "Mission d'intérêt public (article 6.1.e du RGPD)."
identity_months = 18
audit_months = 48

[mail]
smtp_security = "starttls"

[evaluation]
pseudonym_key = "une-clé-de-pseudonymisation-assez-longue-pour-être-acceptée"
"""


def test_every_category_has_its_setting() -> None:
    settings = load_settings(environ={})
    for category in CATEGORIES:
        assert category.months(settings.privacy) > 0, category.code


def test_durations_read_in_french() -> None:
    assert duration_fr(36) == "36 mois (3 ans)"
    assert duration_fr(12) == "12 mois (1 an)"
    assert duration_fr(18) == "18 mois"
    assert duration_fr(0) == "aucune conservation"


def test_the_register_is_written_from_the_settings(tmp_path: Path) -> None:
    config = tmp_path / "casework.toml"
    config.write_text(FILLED, encoding="utf-8")
    out = tmp_path / "registre.md"
    result = CliRunner().invoke(
        main, ["--config", str(config), "privacy", "register", "--out", str(out)], env={}
    )
    assert result.exit_code == 0, result.output
    assert f"Registre écrit dans « {out} »." in result.output
    text = out.read_text(encoding="utf-8")
    assert "Mission Locale de la Mayenne" in text
    assert "dpo@ml53.example" in text
    assert "Mission d'intérêt public" in text
    assert "| Identité et coordonnées de la personne suivie" in text
    assert "| 18 mois |" in text
    assert "| 48 mois (4 ans) |" in text
    assert "chiffrés jusqu'au relais (STARTTLS)" in text
    assert "à compléter" not in text
    assert re.search(r"Fiche établie le \d+(er)? [a-zéû]+ \d{4} à \d\d:\d\d", text)
    assert faults(text) == []
    assert not list(tmp_path.glob(".*partiel"))


def test_what_only_the_organisation_knows_is_asked_for_not_invented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no casework.toml here
    monkeypatch.delenv("CASEWORK_CONFIG", raising=False)
    result = CliRunner().invoke(main, ["privacy", "register"])
    assert result.exit_code == 0, result.output
    assert "*à compléter (réglage `[privacy] controller`)*" in result.output
    assert "## Points à compléter ou à revoir" in result.output
    assert "Le réglage `[privacy] dpo_contact` est vide." in result.output
    assert "sans chiffrement" in result.output
    assert faults(result.output) == []
