"""The holdings map covers the schema: every table is either held (and said how a person's
rows are found) or declared to hold nothing about a young person, with the reason."""

from __future__ import annotations

from casework.models import Base
from casework.privacy.document_labels import COLUMNS
from casework.privacy.holdings import HOLDINGS, NOT_ABOUT_A_PERSON


def test_every_table_is_held_or_said_to_hold_nothing_about_a_person() -> None:
    held = [h.name for h in HOLDINGS]
    tables = set(Base.metadata.tables)
    assert len(held) == len(set(held)), "a table held twice"
    assert not set(held) & set(NOT_ABOUT_A_PERSON), "a table both held and said not to be"
    forgotten = tables - set(held) - set(NOT_ABOUT_A_PERSON)
    assert not forgotten, f"say in casework.privacy.holdings how these reach a person: {forgotten}"
    assert not (set(held) | set(NOT_ABOUT_A_PERSON)) - tables, "a table no longer in the schema"


def test_the_document_labels_the_columns_of_every_held_table() -> None:
    """The events are said in words (`casework.wording`); every other table by its columns."""
    assert set(COLUMNS) == {h.name for h in HOLDINGS} - {"events"}
    for holding in HOLDINGS:
        for column in COLUMNS.get(holding.name, {}):
            assert column in holding.table.c, f"{holding.name}.{column}"
