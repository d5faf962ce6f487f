"""`casework report`: every count of a cohort with known marginals, statistics equal to those of
scipy, statsmodels and lifelines called directly on the same rows, the cut-off, the outputs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test
from scipy.stats import fisher_exact
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from casework.app import App
from casework.evaluation.format import Interval, Num, Pct, PValue
from casework.evaluation.model import Block, Report, Scope, Table
from casework.evaluation.report import build_report
from tests.report_cohort import COHORT, Person, add_cohort

START = date(2026, 9, 1)
CUTOFF = date(2027, 6, 30)
TEST_RUPTURES = (30, 100, 200)  # days after the start
CONTROL_RUPTURES = tuple(20 * (i + 1) for i in range(8))


def known_cohort() -> list[Person]:
    """20 test cases (3 ruptures), 20 control (8 ruptures), one more control whose rupture
    comes after the cut-off (not counted), one whose contract starts after it (left out)."""
    people = []
    for i in range(20):
        birth = date(2010, 1, 1) if i < 4 else date(2005, 9, 2) if i < 14 else date(1998, 1, 1)
        sex = "F" if i < 12 else "M" if i < 18 else None
        rupture = START + timedelta(days=TEST_RUPTURES[i]) if i < 3 else None
        people.append(Person("test", birth=birth, sex=sex, level=3 + i % 2, rupture=rupture))
    for i in range(20):
        rupture = START + timedelta(days=CONTROL_RUPTURES[i]) if i < 8 else None
        people.append(
            Person(
                "control",
                birth=date(2008, 3, 1),
                sex="F" if i < 10 else "M",
                status="apprentice" if i < 15 else "student",
                rupture=rupture,
            )
        )
    people.append(Person("control", birth=date(2008, 3, 1), rupture=date(2027, 7, 1)))
    people.append(Person("test", start=date(2027, 7, 15)))
    return people


@pytest.fixture
def report(app: App) -> Report:
    add_cohort(app, known_cohort())
    return build_report(app, Scope(COHORT, CUTOFF))


def table(report: Report, number: int) -> Table:
    (found,) = (t for t in report.tables if t.number == number)
    return found


def block(t: Table, caption: str) -> Block:
    (found,) = (b for b in t.blocks if b.caption == caption)
    return found


def row(b: Block, label: str) -> list:
    (found,) = (r for r in b.rows if r[0] == label)
    return found


def test_table_1_counts_every_category_of_each_group(report: Report) -> None:
    profile = table(report, 1)
    assert report.population == 41
    assert row(block(profile, "Effectifs"), "effectif")[1:5] == [20, Pct(1.0), 21, Pct(1.0)]
    ages = block(profile, "Âge au début du contrat")
    assert row(ages, "16–17 ans")[1] == 4
    assert row(ages, "18–25 ans")[1:5] == [10, Pct(10 / 20), 21, Pct(1.0)]
    assert row(ages, "26 ans et plus")[1] == 6
    sexes = block(profile, "Sexe")
    assert [r[0] for r in sexes.rows] == ["femmes", "hommes", "inconnu"]
    assert [(r[1], r[3]) for r in sexes.rows] == [(12, 11), (6, 10), (2, 0)]
    levels = block(profile, "Niveau de formation préparé")
    assert [(r[0], r[1], r[3]) for r in levels.rows] == [
        ("niveau 3 (ancien V)", 10, 21),
        ("niveau 4 (ancien IV)", 10, 0),
    ]
    statuses = block(profile, "Statut")
    assert [(r[0], r[1], r[3]) for r in statuses.rows] == [
        ("apprenti(e)", 20, 16),
        ("étudiant(e) du supérieur", 0, 5),
    ]
    assert row(block(profile, "Diplôme préparé"), "CAP")[1:4:2] == [20, 21]
    assert row(block(profile, "Département de résidence"), "53")[1:4:2] == [20, 21]


def test_table_1_standardised_differences(report: Report) -> None:
    sexes = block(table(report, 1), "Sexe")
    p_t, p_c = 12 / 20, 11 / 21
    expected = (p_t - p_c) / ((p_t * (1 - p_t) + p_c * (1 - p_c)) / 2) ** 0.5
    assert row(sexes, "femmes")[-1].value == pytest.approx(expected)
    # Same age in the whole control group: the means' difference over the pooled spread.
    mean_age = row(block(table(report, 1), "Âge au début du contrat"), "âge moyen (années)")
    ages_test = [16] * 4 + [20] * 10 + [28] * 6
    assert mean_age[1] == Num(sum(ages_test) / 20, 1)
    assert mean_age[3] == Num(18.0, 1)


def test_table_2_equals_statsmodels_and_scipy_called_directly(report: Report) -> None:
    ruptures = table(report, 2)
    rates = block(ruptures, "Ruptures par groupe et année d'entrée")
    test, control = rates.rows
    assert test[1:4] == [20, 3, Pct(3 / 20)]
    assert control[1:4] == [21, 8, Pct(8 / 21)]
    low, high = proportion_confint(8, 21, method="wilson")
    assert control[4] == Interval(pytest.approx(low), pytest.approx(high))
    compared = block(ruptures, "Groupe test comparé au groupe témoin")
    d_low, d_high = confint_proportions_2indep(3, 20, 8, 21, method="newcomb", compare="diff")
    difference = row(compared, "Différence de taux (test − témoin, en points)")
    assert difference[1].value == pytest.approx(3 / 20 - 8 / 21)
    assert (difference[2].low, difference[2].high) == (pytest.approx(d_low), pytest.approx(d_high))
    assert row(compared, "Risque relatif (test / témoin)")[1].value == pytest.approx(
        (3 / 20) / (8 / 21)
    )
    _, p = fisher_exact([[3, 17], [8, 13]])
    assert row(compared, "Test exact de Fisher (p)")[1] == PValue(pytest.approx(p))


def test_wilson_for_3_out_of_20_as_computed_by_hand(report: Report) -> None:
    # p = 0.15, z = 1.96: (p + z²/2n ± z √(p(1−p)/n + z²/4n²)) / (1 + z²/n) = [0.0524; 0.3604]
    test = block(table(report, 2), "Ruptures par groupe et année d'entrée").rows[0]
    assert (round(test[4].low, 4), round(test[4].high, 4)) == (0.0524, 0.3604)
    assert test[4].text() == "[5,2\u202f% ; 36,0\u202f%]"


def _rows(days: tuple[int, ...], size: int) -> tuple[list[int], list[int]]:
    censored = (CUTOFF - START).days
    durations = list(days) + [censored] * (size - len(days))
    return durations, [1] * len(days) + [0] * (size - len(days))


def test_table_3_equals_lifelines_on_one_row_per_case(report: Report) -> None:
    t_days, t_events = _rows(TEST_RUPTURES, 20)
    # The control case whose rupture is after the cut-off is censored at the cut-off.
    c_days, c_events = _rows(CONTROL_RUPTURES, 21)
    survival = block(table(report, 3), "Part des contrats non rompus (Kaplan–Meier)")
    for shown, (days, events) in zip(
        survival.rows, [(t_days, t_events), (c_days, c_events)], strict=True
    ):
        fitter = KaplanMeierFitter().fit(days, events)
        assert shown[1:3] == [len(days), sum(events)]
        for position, months in ((3, 3), (5, 6)):
            at = months * 30.4375
            assert shown[position].value == pytest.approx(
                float(fitter.survival_function_at_times(at).iloc[0])
            )
            bounds = fitter.confidence_interval_survival_function_
            index = bounds.index[bounds.index <= at][-1]
            assert shown[position + 1].low == pytest.approx(bounds.loc[index].iloc[0])
        assert shown[7].value is None  # 12 months: past the longest follow-up (302 days)
    expected = logrank_test(t_days, c_days, t_events, c_events)
    log_rank = table(report, 3).blocks[1].rows[0]
    assert log_rank[2].value == pytest.approx(expected.p_value)
    assert "<svg" in table(report, 3).figure


def test_a_year_narrows_the_cohort_to_contracts_started_that_year(app: App) -> None:
    add_cohort(app, [Person("test"), Person("control", start=date(2027, 1, 10))])
    only = build_report(app, Scope(COHORT, CUTOFF, year=2027))
    assert only.population == 1
    both = build_report(app, Scope(COHORT, CUTOFF))
    rows = block(table(both, 2), "Ruptures par groupe et année d'entrée").rows
    assert [r[0] for r in rows] == [
        "Test, 2026",
        "Témoin, 2026",
        "Test, 2027",
        "Témoin, 2027",
        "Test, toutes années",
        "Témoin, toutes années",
    ]


def test_an_empty_cohort_says_so_in_each_table(app: App) -> None:
    empty = build_report(app, Scope(COHORT, CUTOFF))
    assert empty.population == 0
    assert table(empty, 7).empty == "Aucun bilan enregistré à la date d'arrêt."
    assert table(empty, 6).empty == "Aucune fiche de liaison envoyée à la date d'arrêt."
    assert table(empty, 4).empty == "Aucune rupture à la date d'arrêt."


def test_the_age_is_in_completed_years_a_29_february_birthday_on_1_march(app: App) -> None:
    """Born on 29 February 2008: 17 on 28 February 2026, 18 on 1 March; born on 31 December
    2008, 18 on 31 December 2026 and still 17 the day before."""
    add_cohort(
        app,
        [
            Person("test", birth=date(2008, 2, 29), start=date(2026, 2, 28)),
            Person("test", birth=date(2008, 2, 29), start=date(2026, 3, 1)),
            Person("test", birth=date(2008, 12, 31), start=date(2026, 12, 30)),
            Person("test", birth=date(2008, 12, 31), start=date(2026, 12, 31)),
        ],
    )
    ages = block(table(build_report(app, Scope(COHORT, CUTOFF)), 1), "Âge au début du contrat")
    assert row(ages, "16–17 ans")[1] == 2
    assert row(ages, "18–25 ans")[1] == 2
    assert row(ages, "âge moyen (années)")[1] == Num(17.5, 1)
