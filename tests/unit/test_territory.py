"""Départements as people type them, read into their official codes, or refused in French."""

from __future__ import annotations

import pytest

from casework.territory import TerritoryRefused, departement, departements, shown_territory


@pytest.mark.parametrize(
    ("typed", "code"),
    [("53", "53"), ("1", "01"), (" 09 ", "09"), ("2a", "2A"), ("2B", "2B"), ("971", "971"),
     ("976", "976"), ("95", "95")],
)  # fmt: skip
def test_a_departement_is_read_into_its_official_code(typed: str, code: str) -> None:
    assert departement(typed) == code


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("20", "« 20 » n'est plus un code de département : 2A ou 2B pour la Corse."),
        ("96", "« 96 » n'est pas un code de département (de 01 à 95, 2A, 2B, 971 à 974 ou 976)."),
        ("975", "« 975 » n'est pas un code de département"),
        ("00", "« 00 » n'est pas un code de département"),
        ("2C", "« 2C » n'est pas un code de département"),
        ("Mayenne", "« Mayenne » n'est pas un code de département"),
        ("٥٣", "« ٥٣ » n'est pas un code de département"),  # digits, but not ASCII ones
    ],
)
def test_anything_else_is_refused_saying_what_is_expected(typed: str, why: str) -> None:
    with pytest.raises(TerritoryRefused) as refused:
        departement(typed)
    assert refused.value.french().startswith(why)


def test_a_list_is_read_whatever_its_separators_each_code_once() -> None:
    assert departements(["53, 72;2a 53", "971"]) == ["53", "72", "2A", "971"]
    assert departements([""]) == []
    assert shown_territory(["53", "72"]) == "53, 72"
    assert shown_territory([]) == "non précisé"
