"""`casework power`: how many cases a cohort needs, or what a cohort of a given size can detect."""

from __future__ import annotations

from typing import Any

import click

from casework.evaluation.power import (
    METHOD,
    Design,
    PowerRefused,
    cases_needed,
    detectable_target,
)
from casework.french import decimal
from casework.text_limits import french_number


class Rate(click.ParamType):
    """A rate as people type it: 0.20, 0,20 or 20 %."""

    name = "taux"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        if isinstance(value, float):
            return value
        text = str(value).strip().replace(",", ".").replace("\u202f", "").replace(" ", "")
        percent = text.endswith("%")
        try:
            number = float(text.removesuffix("%"))
        except ValueError:
            self.fail(f"« {value} » n'est pas un taux (par exemple 0,20 ou 20 %)", param, ctx)
        return number / 100 if percent else number


RATE = Rate()


def percent(rate: float) -> str:
    """20 %, 13,5 %: one decimal, none when it is zero."""
    shown = decimal(rate * 100, 1)
    return f"{shown.removesuffix(',0')}\u00a0%"


def points(difference: float) -> str:
    shown = decimal(difference * 100, 1).removesuffix(",0")
    return f"{shown} point{'s' if abs(difference * 100) >= 2 else ''}"


@click.command("power")
@click.option(
    "--baseline", type=RATE, required=True, help="Le taux de rupture sans suivi (groupe témoin)."
)
@click.option("--target", type=RATE, help="Le taux de rupture visé dans le groupe test.")
@click.option(
    "--per-group",
    type=int,
    metavar="N",
    help="Dossiers du groupe test : donne le plus petit taux détectable (au lieu de --target).",
)
@click.option("--alpha", type=RATE, default=0.05, help="Risque alpha (défaut : 0,05).")
@click.option("--power", type=RATE, default=0.8, help="Puissance voulue (défaut : 0,8).")
@click.option(
    "--ratio",
    type=RATE,
    default=1.0,
    metavar="NOMBRE",
    help="Dossiers témoins par dossier test (défaut : 1).",
)
def power(
    baseline: float,
    target: float | None,
    per_group: int | None,
    alpha: float,
    power: float,
    ratio: float,
) -> None:
    """Calcule la taille de cohorte nécessaire, ou l'effet détectable pour une taille donnée.

    Compare le taux de rupture du groupe test à celui du groupe témoin (test bilatéral de deux
    proportions, taille d'effet h de Cohen, statsmodels).

    \b
    Exemples :
      casework power --baseline 0.20 --target 0.135
      casework power --baseline 20% --per-group 300 --ratio 1
    """
    if target is not None and per_group is not None:
        raise click.UsageError("donnez --target ou --per-group, pas les deux.")
    if target is None and per_group is None:
        raise click.UsageError("donnez --target (taux visé) ou --per-group (dossiers par groupe).")
    try:
        design = Design(alpha=alpha, power=power, ratio=ratio)
        if target is not None:
            _echo_needed(baseline, target, design)
        else:
            assert per_group is not None
            _echo_detectable(baseline, per_group, design)
    except PowerRefused as refused:
        raise click.ClickException(refused.french()) from None


def _design_line(design: Design) -> str:
    if design.ratio == 1:
        groups = "autant de dossiers témoins que de dossiers test"
    else:
        ratio = decimal(design.ratio, 2).removesuffix("0").removesuffix(",0")
        plural = "s" if design.ratio >= 2 else ""
        groups = f"{ratio} dossier{plural} témoin{plural} par dossier test"
    return (
        f"Risque alpha : {percent(design.alpha)} (bilatéral) ; puissance : "
        f"{percent(design.power)} ; {groups}."
    )


def _echo_needed(baseline: float, target: float, design: Design) -> None:
    size = cases_needed(baseline, target, design)
    change = "de moins" if target < baseline else "de plus"
    click.echo(f"Taux de rupture de référence (groupe témoin) : {percent(baseline)}")
    click.echo(
        f"Taux visé dans le groupe test : {percent(target)} "
        f"({points(abs(baseline - target))} {change})"
    )
    click.echo(_design_line(design))
    if size.test == size.control:
        click.echo(
            f"Il faut {french_number(size.test)} dossiers dans chaque groupe, "
            f"{french_number(size.total)} en tout."
        )
    else:
        click.echo(
            f"Il faut {french_number(size.test)} dossiers dans le groupe test et "
            f"{french_number(size.control)} dans le groupe témoin, "
            f"{french_number(size.total)} en tout."
        )
    click.echo(f"Méthode : {METHOD} ; h = {decimal(abs(size.effect_size), 3)}.")


def _echo_detectable(baseline: float, test: int, design: Design) -> None:
    found = detectable_target(baseline, test, design)
    click.echo(f"Taux de rupture de référence (groupe témoin) : {percent(baseline)}")
    click.echo(
        f"Groupes : {french_number(found.test)} dossiers test, "
        f"{french_number(found.control)} dossiers témoins."
    )
    click.echo(_design_line(design))
    if found.target is None or found.difference is None:
        click.echo(
            f"Même un taux nul dans le groupe test ne se distinguerait pas de {percent(baseline)} "
            "avec cette puissance : il faut plus de dossiers."
        )
    else:
        click.echo(
            f"Le plus petit taux détectable dans le groupe test est {percent(found.target)} "
            f"({points(found.difference)} de moins que le groupe témoin)."
        )
    click.echo(f"Méthode : {METHOD} ; h = {decimal(found.effect_size, 3)}.")
