"""`casework power` and the library behind it: statsmodels' figures, the pilot's case by hand."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from click.testing import CliRunner
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from casework.cli import main
from casework.evaluation.power import (
    Design,
    PowerRefused,
    cases_needed,
    detectable_target,
)
from casework.french import faults


def power(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["power", *args])
    return result.exit_code, result.output


def test_the_pilots_figures_by_hand() -> None:
    """20 % without follow-up against 13.5 % (the pilot's two years): Cohen's h by its
    definition, then n = 2·(z₁₋α/₂ + z₁₋β)² / h² per group."""
    h = 2 * math.asin(math.sqrt(0.20)) - 2 * math.asin(math.sqrt(0.135))
    z = NormalDist().inv_cdf(0.975) + NormalDist().inv_cdf(0.8)
    by_hand = 2 * z**2 / h**2
    assert round(h, 4) == 0.1748
    assert math.ceil(by_hand) == 514
    size = cases_needed(0.20, 0.135)
    assert (size.test, size.control, size.total) == (514, 514, 1028)
    assert size.effect_size == pytest.approx(h)


@pytest.mark.parametrize(
    ("baseline", "target", "alpha", "power_", "ratio"),
    [
        (0.20, 0.135, 0.05, 0.8, 1.0),
        (0.20, 0.075, 0.05, 0.9, 1.0),
        (0.30, 0.20, 0.01, 0.8, 2.0),
        (0.10, 0.15, 0.05, 0.8, 0.5),  # a rise is a difference too
    ],
)
def test_cases_needed_are_statsmodels(
    baseline: float, target: float, alpha: float, power_: float, ratio: float
) -> None:
    h = proportion_effectsize(baseline, target)
    expected = NormalIndPower().solve_power(
        effect_size=abs(h), alpha=alpha, power=power_, ratio=ratio, alternative="two-sided"
    )
    size = cases_needed(baseline, target, Design(alpha, power_, ratio))
    assert size.test == math.ceil(expected)
    assert size.control == math.ceil(size.test * ratio)


@pytest.mark.parametrize(("test", "ratio"), [(514, 1.0), (300, 1.0), (1000, 0.5), (150, 3.0)])
def test_the_detectable_rate_is_statsmodels_inverted(test: int, ratio: float) -> None:
    found = detectable_target(0.20, test, Design(ratio=ratio))
    h = NormalIndPower().solve_power(
        effect_size=None, nobs1=test, alpha=0.05, power=0.8, ratio=ratio, alternative="two-sided"
    )
    assert found.effect_size == pytest.approx(h)
    assert found.target is not None
    assert proportion_effectsize(0.20, found.target) == pytest.approx(h)
    # And back: that many cases are what that target needs.
    assert cases_needed(0.20, found.target, Design(ratio=ratio)).test == test


def test_too_few_cases_detect_nothing() -> None:
    found = detectable_target(0.20, 10)
    assert (found.target, found.difference) == (None, None)


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda: cases_needed(0.2, 0.2), "aucun effet à détecter"),
        (lambda: cases_needed(1.2, 0.1), "le taux de référence doit être un taux"),
        (lambda: cases_needed(0.2, 0.1, Design(power=0.01)), "la puissance doit"),
        (lambda: detectable_target(0.2, 1), "au moins 2 dossiers"),
    ],
)
def test_questions_without_an_answer_are_refused_in_french(call: object, said: str) -> None:
    with pytest.raises(PowerRefused) as refused:
        call()  # type: ignore[operator]
    assert said in refused.value.french()


def test_the_command_says_the_cases_needed() -> None:
    code, out = power("--baseline", "0.20", "--target", "0.135")
    assert code == 0, out
    assert out.splitlines()[:4] == [
        "Taux de rupture de référence (groupe témoin) : 20\u00a0%",
        "Taux visé dans le groupe test : 13,5\u00a0% (6,5 points de moins)",
        "Risque alpha : 5\u00a0% (bilatéral) ; puissance : 80\u00a0% ; autant de dossiers "
        "témoins que de dossiers test.",
        "Il faut 514 dossiers dans chaque groupe, 1\u202f028 en tout.",
    ]
    assert "h de Cohen (statsmodels NormalIndPower) ; h = 0,175." in out
    assert faults(out) == []


def test_the_command_takes_rates_as_people_write_them() -> None:
    written = (("20%", "13,5 %"), ("0,2", "0.135"))
    same = [power("--baseline", b, "--target", t)[1] for b, t in written]
    assert same[0] == same[1] == power("--baseline", "0.20", "--target", "0.135")[1]
    _, out = power("--baseline", "0,2", "--target", "0,135", "--ratio", "2")
    assert "2 dossiers témoins par dossier test" in out
    assert "Il faut 386 dossiers dans le groupe test et 772 dans le groupe témoin" in out


def test_the_command_says_what_a_cohort_can_detect() -> None:
    code, out = power("--baseline", "0.20", "--per-group", "514")
    assert code == 0, out
    assert "Groupes : 514 dossiers test, 514 dossiers témoins." in out
    assert "Le plus petit taux détectable dans le groupe test est 13,5\u00a0% (6,5 points" in out
    code, out = power("--baseline", "0.20", "--per-group", "10")
    assert "Même un taux nul dans le groupe test ne se distinguerait pas de 20\u00a0%" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--baseline", "0.2"), "donnez --target (taux visé) ou --per-group"),
        (("--baseline", "0.2", "--target", "0.1", "--per-group", "9"), "pas les deux"),
        (("--baseline", "vingt", "--target", "0.1"), "« vingt » n'est pas un taux"),
        (("--baseline", "0.2", "--target", "0.2"), "aucun effet à détecter"),
    ],
)
def test_the_command_refuses_in_french(args: tuple[str, ...], said: str) -> None:
    code, out = power(*args)
    assert code != 0
    assert said in out
    assert "Traceback" not in out
