"""Cross-matching (record linkage) on generated lists with a known truth, and on hand-made hard
cases: each kind of difference between the two files, namesakes, people's decisions."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from casework.intake.linkage import FIELDS, Band, Thresholds, link
from casework.intake.records import Person
from casework.intake.synthetic import RATES, generate


def quality(found: set[tuple[str, str]], truth: set[tuple[str, str]]) -> tuple[float, float]:
    right = len(found & truth)
    return right / len(found), right / len(truth)


@pytest.fixture(scope="module")
def lists_and_result():  # type: ignore[no-untyped-def]
    data = generate(4_000, seed=11)
    return data, link(data.cma, data.ml)


def test_generated_lists_are_matched_with_the_quality_asked_for(lists_and_result) -> None:  # type: ignore[no-untyped-def]
    data, result = lists_and_result
    truth = set(data.pairs.items())
    precision, recall = quality({(p.cma, p.ml) for p in result.band(Band.MATCH)}, truth)
    f1 = 2 * precision * recall / (precision + recall)
    assert precision >= 0.99
    assert f1 >= 0.98
    # Each person at most once on each side.
    assert len({p.cma for p in result.pairs}) == len(result.pairs)
    assert len({p.ml for p in result.pairs}) == len(result.pairs)


def test_the_generator_is_seeded_and_realistic() -> None:
    first, again = generate(500, seed=3), generate(500, seed=3)
    assert first == again
    assert len(first.pairs) == 300  # 60 % on both lists
    assert generate(500, seed=4).cma != first.cma
    shouted = [p for p in first.ml if p.birth_name.isupper()]
    assert 0.3 < len(shouted) / len(first.ml) < 0.6  # near RATES["capitals_no_accents"]
    assert RATES["capitals_no_accents"] == 0.45


def person(key: str, birth: str, first: str, born: date | None, postcode: str | None) -> Person:
    return Person(key, birth, first, born, postcode, None, None)


# A crowd of unrelated people, so that the model has something to learn u and m from.
CROWD = generate(1_500, seed=5)


def linked(cma: Person, ml: Person) -> list:
    result = link([cma, *CROWD.cma], [ml, *CROWD.ml])
    return [p for p in result.pairs if p.cma == cma.key]


@pytest.mark.parametrize(
    ("cma", "ml", "why"),
    [
        (("Élodie-Marie", "Le Gall"), ("ELODIE MARIE", "LEGALL"), "accents, capitals, hyphens"),
        (("Léa Anne Zoé", "Dupont-Martin"), ("Léa", "Dupont Martin"), "usual first name only"),
        (("Théo", "Kerbrat"), ("Kerbrat", "Théo"), "first and last names swapped"),
        (("Mathis", "Kerbrat"), ("Mathis", "Kerbrta"), "a typo in the birth name"),
        (("Mathis", "de la Fontaine"), ("Mathis", "Fontaine"), "a particle left out"),
    ],
)
def test_each_kind_of_difference_in_names_still_matches(
    cma: tuple[str, str], ml: tuple[str, str], why: str
) -> None:
    born = date(2007, 3, 14)
    (pair,) = linked(
        person("C1", cma[1], cma[0], born, "53000"), person("M1", ml[1], ml[0], born, "53000")
    )
    assert pair.ml == "M1", why
    assert pair.band == Band.MATCH, (why, pair.explain())


@pytest.mark.parametrize(
    ("born_ml", "level"),
    [(date(2007, 3, 15), 2), (date(2007, 3, 4), 2), (date(2007, 3, 14), 3)],
)
def test_birth_dates_tolerate_one_digit_or_a_day_month_swap(born_ml: date, level: int) -> None:
    (pair,) = linked(
        person("C1", "Kerbrat", "Mathis", date(2007, 3, 14), "53000"),
        person("M1", "Kerbrat", "Mathis", born_ml, "53000"),
    )
    assert pair.levels[FIELDS.index("birth_date")] == level
    swapped = linked(
        person("C2", "Quéméner", "Anaïs", date(2006, 4, 11), "53000"),
        person("M2", "Quéméner", "Anaïs", date(2006, 11, 4), "53000"),
    )
    assert swapped[0].levels[FIELDS.index("birth_date")] == 2


def test_every_pair_is_explained_field_by_field_in_french() -> None:
    (pair,) = linked(
        person("C1", "Kerbrat", "Mathis", date(2007, 3, 14), "53000"),
        person("M1", "KERBRTA", "MATHIS", date(2007, 3, 14), "53100"),
    )
    lines = pair.explain()
    assert lines[0].startswith("nom de naissance : proche (faute de frappe) (+")
    assert lines[1].startswith("prénom : identique (+")
    assert lines[2].startswith("date de naissance : identique (+")
    assert lines[3].startswith("code postal : même département ou même commune (")
    # Weights as French writes decimals, as the probabilities beside them are.
    assert all(re.search(r"\([+-]\d+,\d\)$", line) for line in lines), lines


def test_a_field_missing_on_one_side_agrees_with_its_gender() -> None:
    (pair,) = linked(
        person("C1", "Kerbrat", "", None, "53000"),
        person("M1", "Kerbrat", "Mathis", date(2007, 3, 14), "53000"),
    )
    lines = pair.explain()
    assert lines[1] == "prénom : absent d'un côté (+0,0)"
    assert lines[2] == "date de naissance : absente d'un côté (+0,0)"


def test_namesakes_born_elsewhere_are_not_matched() -> None:
    """Same common name, different birth date and postcode: two people."""
    pairs = linked(
        person("C1", "Martin", "Thomas", date(2007, 3, 14), "53000"),
        person("M1", "Martin", "Thomas", date(2004, 9, 2), "72000"),
    )
    assert pairs == []


def test_peoples_decisions_are_remembered() -> None:
    cma = person("C1", "Kerbrat", "Mathis", date(2007, 3, 14), "53000")
    ml = person("M1", "Kerbrat", "Mathis", date(2007, 3, 14), "53000")
    weak = person("M2", "Gautier", "Mathis", date(2007, 3, 14), "35000")
    rejected = link([cma, *CROWD.cma], [ml, *CROWD.ml], decisions={("C1", "M1"): False})
    assert [p for p in rejected.pairs if p.cma == "C1"] == []
    confirmed = link([cma, *CROWD.cma], [weak, *CROWD.ml], decisions={("C1", "M2"): True})
    (pair,) = [p for p in confirmed.pairs if p.cma == "C1"]
    assert (pair.ml, pair.band, pair.decided) == ("M2", Band.MATCH, True)
    assert "décision d'une personne" in pair.explain()[-1]


def test_thresholds_make_the_bands(lists_and_result) -> None:  # type: ignore[no-untyped-def]
    data, _result = lists_and_result
    strict = link(data.cma, data.ml, Thresholds(match=0.999999, review=0.5))
    loose = link(data.cma, data.ml, Thresholds(match=0.9, review=0.5))
    assert len(strict.band(Band.MATCH)) < len(loose.band(Band.MATCH))
    # Above the threshold, or identical on name, first name and birth date (see below).
    assert all(p.probability >= 0.999999 or p.exact for p in strict.band(Band.MATCH))
    assert any(p.probability < 0.999999 for p in strict.band(Band.MATCH))
    assert all(0.5 <= p.probability < 0.999999 for p in strict.band(Band.REVIEW))


def test_an_empty_list_links_nothing() -> None:
    assert link([], CROWD.ml).pairs == []
    assert link(CROWD.cma, []).pairs == []


def test_one_to_one_in_rounds_keeps_what_one_row_at_a_time_would() -> None:
    """The rounds of `greedy` (numpy) against the plain loop, on rows that compete hard for the
    same people (long chains: more rounds than GREEDY_ROUNDS, so the loop finishes them too)."""
    import numpy as np

    from casework.intake.linkage.assign import GREEDY_ROUNDS, greedy

    rng = np.random.default_rng(5)
    for people, rows in ((30, 200), (1_000, 5_000), (3, 40)):
        i = rng.integers(0, people, rows)
        j = rng.integers(0, people, rows)
        taken_a, taken_b = np.zeros(people, dtype=bool), np.zeros(people, dtype=bool)
        taken_a[0] = True  # someone taken already (by a person's confirmation)
        expected, seen_a, seen_b = [], {0}, set()
        for n, (x, y) in enumerate(zip(i.tolist(), j.tolist(), strict=True)):
            if x not in seen_a and y not in seen_b:
                seen_a.add(x)
                seen_b.add(y)
                expected.append(n)
        assert greedy(i, j, taken_a, taken_b).tolist() == expected
        assert set(np.nonzero(taken_b)[0].tolist()) == seen_b
    # A chain: row n competes with row n + 1 for one person, so each round keeps one row.
    chain = np.arange(2 * GREEDY_ROUNDS + 10)
    i, j = chain // 2, (chain + 1) // 2
    size = len(chain)
    kept = greedy(i, j, np.zeros(size, dtype=bool), np.zeros(size, dtype=bool))
    assert kept.tolist() == list(range(0, len(chain), 2))


def frequent(prefix: str, n: int) -> list[Person]:
    """`n` people named Martin (with common first names): a surname far more frequent than any
    in the crowd, as the most common surnames are in a national file."""
    import random
    from datetime import timedelta

    rng = random.Random(1)
    firsts = ["Thomas", "Lucas", "Emma", "Léa", "Louis", "Chloé", "Jules", "Inès"]
    return [
        person(
            f"{prefix}{n}",
            "Martin",
            rng.choice(firsts),
            date(2005, 1, 1) + timedelta(days=rng.randrange(2000)),
            rng.choice(["53000", "72000", "35000"]),
        )
        for n in range(n)
    ]


def test_exact_agreement_on_identity_is_a_match_however_frequent_the_surname() -> None:
    """Name, first name and birth date identical: the frequency adjustment of "Martin" would
    send the pair to review (the young person moved); it is a match."""
    cma = person("C1", "Martin", "Thomas", date(2007, 3, 14), "53000")
    ml = person("M1", "MARTIN", "THOMAS", date(2007, 3, 14), "72000")
    result = link([cma, *frequent("CM", 300), *CROWD.cma], [ml, *frequent("MM", 300), *CROWD.ml])
    (pair,) = [p for p in result.pairs if p.cma == "C1"]
    assert (pair.ml, pair.band, pair.exact) == ("M1", Band.MATCH, True)
    assert pair.probability < 0.99  # what the frequency made of it: not what decides
    assert (
        pair.explain()[-1]
        == "nom, prénom et date de naissance identiques, sans homonyme né le même jour"
    )


def test_namesakes_born_the_same_day_are_for_a_person_to_tell() -> None:
    cma = person("C1", "Kerbrat", "Mathis", date(2007, 3, 14), "53000")
    twins = [
        person("M1", "Kerbrat", "Mathis", date(2007, 3, 14), "72000"),
        person("M2", "Kerbrat", "Mathis", date(2007, 3, 14), "35000"),
    ]
    result = link([cma, *CROWD.cma], [*twins, *CROWD.ml])
    (pair,) = [p for p in result.pairs if p.cma == "C1"]
    assert not pair.exact  # banded by its probability, as any other pair


FULL = ("Kerbrat", "Mathis", date(2007, 3, 14), "53000")


@pytest.mark.parametrize(
    ("cma", "ml"),
    [
        (("Kerbrat", "Mathis", None, "53000"), FULL),
        (("Kerbrat", "", date(2007, 3, 14), "53000"), FULL),
        (("", "Mathis", date(2007, 3, 14), "53000"), FULL),
        (FULL, ("Kerbrat", "", None, "53000")),  # blocked on the name and the postcode
        (FULL, ("", "Mathis", None, "53000")),  # on the first name and the postcode
        (FULL, ("Kerbrta", "Mathis", None, "53000")),
    ],
)
def test_incomplete_records_are_found_and_only_ever_to_review(
    cma: tuple[Any, ...], ml: tuple[Any, ...]
) -> None:
    (pair,) = linked(person("C1", *cma), person("M1", *ml))
    assert (pair.ml, pair.band) == ("M1", Band.REVIEW)
    assert pair.explain()[-1] == (
        "il manque d'un côté le nom, le prénom ou la date de naissance : une personne vérifie"
    )
