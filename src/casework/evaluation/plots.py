"""The report's plots, as SVG markup to put inline in the HTML (and so in the PDF).

matplotlib's object API with no pyplot: no global figure, no GUI backend, whatever the
environment says; the SVG carries no date and a fixed id salt, so the same data draws the same
bytes.
"""

from __future__ import annotations

import io

import matplotlib
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MultipleLocator

from casework.evaluation.format import number, percent
from casework.evaluation.survival import Curve

matplotlib.rcParams["svg.hashsalt"] = "casework"
matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: selectable, and small
matplotlib.rcParams["font.family"] = "DejaVu Sans"

# Sober and legible in black and white too: solid and dashed lines.
_STYLES = [("#1f4e79", "-"), ("#b35900", "--"), ("#4d4d4d", ":")]


def survival_plot(curves: list[Curve], x_label: str, y_label: str, months: int = 24) -> str:
    figure = Figure(figsize=(7, 3.6))
    axes = figure.add_subplot()
    for curve, (colour, line) in zip(curves, _STYLES, strict=False):
        times = [s[0] for s in curve.steps]
        axes.step(
            times,
            [s[1] for s in curve.steps],
            where="post",
            color=colour,
            linestyle=line,
            label=curve.label,
        )
        axes.fill_between(
            times,
            [s[2] for s in curve.steps],
            [s[3] for s in curve.steps],
            step="post",
            color=colour,
            alpha=0.15,
            linewidth=0,
        )
    longest = max((c.steps[-1][0] for c in curves), default=months)
    axes.set_xlim(0, max(1.0, min(longest, months)))
    axes.set_ylim(0, 1.02)
    axes.xaxis.set_major_locator(MultipleLocator(3))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _: number(x, 0)))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda y, _: percent(y, 0)))
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.spines[["top", "right"]].set_visible(False)
    if curves:
        axes.legend(loc="lower left", frameon=False)
    figure.tight_layout()
    out = io.StringIO()
    figure.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    # Inline in HTML: from the <svg> element on (no XML prolog, no DOCTYPE).
    return svg[svg.index("<svg") :]
