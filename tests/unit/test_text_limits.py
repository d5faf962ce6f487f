"""Length and character limits of every text from outside, declared once (`text_limits.py`):
said in French with where, never echoing a huge or garbling value back."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import String

from casework.errors import InvalidTransitionData
from casework.intake.fields import FIELDS, Invalid, parse_key, parse_label, parse_name, parse_place
from casework.models import Beneficiary, Contract, IntakeRecord
from casework.states.definition import FieldDef
from casework.states.fields import clean_fields
from casework.states.reader import read_workflow
from casework.text_limits import KEY, LABEL, NAME, NOTE, PLACE, TextRefused, shown

NNBSP = "\u202f"  # French thousands


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("Laval" * 20_000, f"trop long (100{NNBSP}000 caractères ; au plus 120)"),
        ("Saint-\x00Berthevin", "caractère de contrôle interdit (U+0000, position 7)"),
        ("Craon\x1b[2J", "caractère de contrôle interdit (U+001B, position 6)"),
        ("Craon\x85", "caractère de contrôle interdit (U+0085, position 6)"),
        ("Craon\x7f", "caractère de contrôle interdit (U+007F, position 6)"),
        ("Cra\udc80on", "caractère invalide (U+DC80, position 4)"),
        ("Laval\u202eesuom", "bidirectionnelle interdit (U+202E, position 6)"),
    ],
)
def test_a_place_too_long_or_with_a_refused_character_says_why(value: str, reason: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_place(value)
    assert reason in str(refused.value)


def test_whitespace_folds_and_names_refuse_bidi_controls_where_labels_do_not() -> None:
    assert parse_name("  Le\tGoff\r\nMartin ") == "Le Goff Martin"
    assert parse_label("Boulangerie \u202bالخبز\u202c") == "Boulangerie \u202bالخبز\u202c"
    with pytest.raises(Invalid, match="bidirectionnelle"):
        parse_name("Martin\u2066")
    assert parse_key("C" * 40) == "C" * 40
    with pytest.raises(Invalid, match="au plus 40"):
        parse_key("C" * 41)
    with pytest.raises(Invalid, match="valeur vide"):
        parse_name(" \t ")


def test_free_text_keeps_its_lines_but_no_control_character() -> None:
    assert NOTE.check(" Appel :\r\n\tvu la famille.\n") == "Appel :\r\n\tvu la famille."
    with pytest.raises(TextRefused, match="position 4"):
        NOTE.check("abc\x00")
    with pytest.raises(TextRefused, match=f"20{NNBSP}001 caractères ; au plus 20{NNBSP}000"):
        NOTE.check("x" * 20_001)


def test_shown_values_are_short_printable_and_on_one_line() -> None:
    assert shown("Laval") == "Laval"
    assert shown("a\x00b\nc\udc80") == "a\\x00b\\nc\\udc80"
    long = shown("x" * 100_000)
    assert long == "x" * 60 + f"… (100{NNBSP}000 caractères)"


def test_every_intake_text_fits_the_column_it_ends_up_in() -> None:
    """A value accepted by the file's check never overflows a column on PostgreSQL."""
    columns = {
        "contract_number": [Contract.cma_number, IntakeRecord.key],
        "ml_id": [Beneficiary.ml_id, IntakeRecord.key],
        "birth_name": [Beneficiary.birth_name],
        "first_names": [Beneficiary.first_names],
        "commune": [Beneficiary.commune],
        "employer_name": [Contract.employer_name],
        "employer_trade": [Contract.employer_trade],
        "training_centre_name": [Contract.training_centre_name],
        "diploma": [Contract.diploma],
    }
    kinds = {"contract_number": KEY, "ml_id": KEY, "birth_name": NAME, "first_names": NAME}
    kinds |= {"commune": PLACE}
    for name, targets in columns.items():
        kind = kinds.get(name, LABEL)
        parse = next(f.parse for each in FIELDS.values() for f in each.values() if f.name == name)
        assert parse(kind.max_length * "a") == kind.max_length * "a"
        with pytest.raises(Invalid, match="trop long"):
            parse((kind.max_length + 1) * "a")
        for column in targets:
            column_type = column.property.columns[0].type
            assert isinstance(column_type, String)
            assert column_type.length >= kind.max_length, (name, column)


TEXT = (FieldDef("note", "text", 1), FieldDef("reason", "text", 2, max_length=10))


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"note": "vu\x00"}, "note", "caractère de contrôle interdit (U+0000, position 3)"),
        ({"note": "x" * 100_000}, "note", "trop long"),
        ({"reason": "onze lettres"}, "reason", "au plus 10"),
    ],
)
def test_a_form_text_is_checked_and_the_message_does_not_echo_it(
    data: dict[str, str], field: str, reason: str
) -> None:
    with pytest.raises(InvalidTransitionData) as bad:
        clean_fields("note_it", TEXT, data)
    assert bad.value.field == field
    assert reason in bad.value.french()
    assert len(bad.value.french()) < 300
    assert "\x00" not in bad.value.french()
    assert data[field] not in str(bad.value)  # logs: no value at all


def test_a_workflow_text_field_may_declare_its_own_max_length(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(
        "workflow: w\nversion: 1\nentity: case\ninitial: a\n"
        "states:\n  a: {}\n  b: {final: true}\n"
        "transitions:\n  - trigger: go\n    source: a\n    dest: b\n    by: [person]\n"
        "    fields:\n      why: {type: text, max_length: 500}\n"
        "      n: {type: int, max_length: 3}\n"
        "      long: {type: text, max_length: 1000000}\n"
    )
    definition, problems = read_workflow(path)
    assert [p.message for p in problems] == [
        f"field 'n' of transition 'go': 'max_length' is for a text, from 1 to {NOTE.max_length}",
        f"field 'long' of transition 'go': 'max_length' is for a text, from 1 to {NOTE.max_length}",
    ]
    assert definition is not None
    assert definition.transitions[0].fields[0].max_length == 500
