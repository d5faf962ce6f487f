"""Property-based tests (hypothesis): whatever a partner file holds, its value parsers and its
TOML reader work or say why in French — never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from casework.intake.fields import Invalid
from casework.intake.files import UnreadableFile
from casework.partners.reading import CONTACT_COLUMNS, PARTNER_COLUMNS, read_partners

FAST = settings(max_examples=200, deadline=5000, database=None)
FILES = settings(max_examples=60, deadline=10_000, database=None)
SCALARS = st.one_of(
    st.text(),
    st.text(alphabet="0123456789 ,;/+-.AB", max_size=30),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
)
# What a cell holds, and what a TOML value can be.
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=5))


@FAST
@given(value=VALUES)
def test_every_partner_value_parser_takes_anything_or_says_why(value: Any) -> None:
    for column in (*PARTNER_COLUMNS, *CONTACT_COLUMNS):
        try:
            column.parse(value)
        except Invalid as error:
            said = str(error)
            assert said


TOML_BITS = st.sampled_from(
    [
        "[[partner]]\n",
        "[[partner.contact]]\n",
        "[other]\n",
        'name = "ADLJ"\n',
        'kind = "logement"\n',
        'needs = ["logement", 3]\n',
        "territory = [53, 72000]\n",
        "ack_days = 2\n",
        "ack_days = true\n",
        'email = "a@b.example"\n',
        "contact = 5\n",
        "partner = {name = 1}\n",
        'role = {x = "y"}\n',
        "needs = [[1]]\n",
        "=\n",
        '"\n',
    ]
)


@FILES
@given(bits=st.lists(TOML_BITS, max_size=12), noise=st.text(max_size=40))
def test_any_toml_file_is_read_or_refused_in_french(bits: list[str], noise: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "partenaires.toml"
        path.write_text("".join(bits) + noise, encoding="utf-8", errors="surrogatepass")
        try:
            found = read_partners(path)
        except UnreadableFile as refused:
            said = str(refused)
            assert said
            return
        for problem in found.problems:
            assert str(problem)
