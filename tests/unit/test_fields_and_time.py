"""Small pure pieces: field conversion, ages, the clock, diagrams."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from casework.clock import FixedClock, format_local
from casework.errors import InvalidTransitionData
from casework.models.beneficiary import age_on
from casework.states.definition import FieldDef
from casework.states.fields import clean_fields, to_json

FIELDS = (
    FieldDef("when", "date", 1, required=True),
    FieldDef("ok", "bool", 2),
    FieldDef("kind", "choice", 3, choices=("a", "b")),
    FieldDef("tags", "multichoice", 4, choices=("x", "y")),
    FieldDef("n", "int", 5, minimum=0),
    FieldDef("note", "text", 6),
)


def test_text_from_a_form_becomes_typed_values() -> None:
    cleaned = clean_fields(
        "t",
        FIELDS,
        {
            "when": "31/01/2027",
            "ok": "non",
            "kind": "b",
            "tags": "y, x,y",
            "n": "3",
            "note": "  bien  ",
        },
    )
    assert cleaned == {
        "when": date(2027, 1, 31),
        "ok": False,
        "kind": "b",
        "tags": ["y", "x"],
        "n": 3,
        "note": "bien",
    }
    assert to_json(cleaned)["when"] == "2027-01-31"


def test_empty_optional_values_are_left_out() -> None:
    assert clean_fields("t", FIELDS, {"when": "2027-01-31", "note": "  ", "ok": None}) == {
        "when": date(2027, 1, 31)
    }


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"when": "31/02/2027"}, "when"),
        ({"when": datetime(2027, 1, 1, tzinfo=UTC)}, "when"),
        ({"when": "2027-01-01", "ok": "peut-être"}, "ok"),
        ({"when": "2027-01-01", "n": True}, "n"),
        ({"when": "2027-01-01", "n": -1}, "n"),
        ({"when": "2027-01-01", "note": 12}, "note"),
        ({}, "when"),
    ],
)
def test_bad_values_name_their_field(data: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidTransitionData) as bad:
        clean_fields("t", FIELDS, data)
    assert bad.value.field == field


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2008, 3, 4), date(2026, 3, 3), 17),
        (date(2008, 3, 4), date(2026, 3, 4), 18),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
    ],
)
def test_age(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


def test_the_fixed_clock_refuses_naive_times_and_moves_on_demand() -> None:
    with pytest.raises(ValueError, match="naive"):
        FixedClock(datetime(2026, 1, 1))
    clock = FixedClock(datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    assert format_local(clock.now()) == "29/03/2026 00:30"  # UTC+1 in winter
    clock.advance(timedelta(hours=2))
    assert format_local(clock.now()) == "29/03/2026 03:30"  # the clocks went forward at 02:00
