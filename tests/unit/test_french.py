"""The small grammar templates need, and the proofreader the tests run over what people read."""

from __future__ import annotations

import errno

import pytest

from casework.french import decimal, elide, faults, name_and_kind, os_error, with_kind


@pytest.mark.parametrize(
    ("following", "written"),
    [
        ("Anaïs ORAIN", "d'"),
        ("ÉLODIE", "d'"),
        ("Hugo", "d'"),
        ("Yves", "d'"),
        ("Yanis", "de "),
        ("Léa", "de "),
        ("accusé de réception", "d'"),
        ("retour", "de "),
        ("", "de "),
    ],
)
def test_de_is_elided_before_a_vowel_sound(following: str, written: str) -> None:
    assert elide("de", following) == written


def test_a_kind_of_place_is_not_said_twice() -> None:
    assert with_kind("CFA de la CMA de la Mayenne", "CFA") == "CFA de la CMA de la Mayenne"
    assert with_kind("cfa du Bâtiment", "CFA") == "cfa du Bâtiment"
    assert with_kind("Campus des métiers", "CFA") == "CFA Campus des métiers"
    assert with_kind("CFAB Laval", "CFA") == "CFA CFAB Laval"


def test_a_kind_the_name_already_says_is_not_repeated_after_it() -> None:
    assert name_and_kind("CFA du bâtiment de la Mayenne", "CFA") == "CFA du bâtiment de la Mayenne"
    assert name_and_kind("Mission Locale de Laval", "mission locale") == "Mission Locale de Laval"
    assert name_and_kind("ADLJ 53", "logement des jeunes") == "ADLJ 53 (logement des jeunes)"
    assert name_and_kind("CFAB Laval", "CFA") == "CFAB Laval (CFA)"  # a word, not a prefix


def test_the_proofreader_finds_the_classic_faults() -> None:
    assert faults("Le consentement d'Anaïs, un accusé de réception, nous nous engageons.") == []
    assert faults("pas encore de accusé") == ["pas d'élision : « de accusé »"]
    assert faults("Le contrat de Émilie") == ["pas d'élision : « de Émilie »"]
    assert faults("attend un(e) retour") == ["« un(e) »"]
    assert faults("CFA CFA de Laval") == ["mot répété : « CFA CFA »"]
    assert faults("Clore la fiche\n- Fiche en retard") == []  # not on one line
    assert faults("difficulties=['housing']") == ["Python : « [' »"]
    assert faults("Téléphone : None") == ["Python : « None »"]
    assert faults("rendez-vous le 12 12") == []  # numbers may repeat


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.ENOENT, "fichier introuvable"),
        (errno.EACCES, "accès refusé"),
        (errno.EISDIR, "c'est un dossier"),
        (errno.ENOSPC, "disque plein"),
        (errno.EPIPE, "Broken pipe"),  # a rare one: the system's own words
    ],
)
def test_why_a_file_could_not_be_opened_is_said_in_french(code: int, said: str) -> None:
    import os

    assert os_error(OSError(code, os.strerror(code))) == said


def test_a_missing_path_when_writing_is_a_missing_folder() -> None:
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory")
    assert os_error(missing, writing=True) == "dossier introuvable"


def test_decimals_are_written_with_a_comma() -> None:
    assert decimal(7.63) == "7,6"
    assert decimal(7.63, signed=True) == "+7,6"
    assert decimal(-0.04, signed=True) == "-0,0"
    assert decimal(99.94, digits=2) == "99,94"
