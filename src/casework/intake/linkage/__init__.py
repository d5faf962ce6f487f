"""Cross-matching the chamber's contracts with the Mission Locale's caseload (record linkage).

`link` runs the steps in turn, one module each (each says what it guarantees):

1. `normalise.py`: both lists together into integer arrays (names folded, particles and runs of
   first names, dates as digits, postcodes and départements);
2. `block.py`: only pairs that share a blocking key are compared;
3. `compare.py`: each candidate pair, field by field, into levels;
4. `estimate.py`: the Fellegi-Sunter model (u on random pairs, m by EM, the prior), without a
   known truth; a pair's weight is the sum of log2(m/u) over its fields plus the prior's
   log-odds, its probability follows;
5. `assign.py`: one to one, best first, each pair in its band (match, to review, no match) by
   the configured thresholds, people's earlier decisions first.

Incomplete records are compared on what they have (a missing field weighs nothing either way)
and are at best to review. Every pair kept is explained field by field, in French
(`Pair.explain`, `model.py`).

Guarantees: each person is in at most one pair. Speed (a million a side in about 20 s,
`bench/match.py`): every step works on numpy arrays of integers, Python touching each distinct
name once, not each person; the cyclic garbage collector is paused while linking.
"""

from __future__ import annotations

import gc
import math
import random
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from casework.intake.linkage.assign import Scored, confirmed_pairs, one_to_one, unique_exact
from casework.intake.linkage.block import candidate_pairs
from casework.intake.linkage.compare import compare_pairs, count_patterns, pattern_code
from casework.intake.linkage.estimate import (
    Frequencies,
    estimate_model,
    measure_u,
    same_day_patterns,
)
from casework.intake.linkage.model import (
    FIELDS,
    IDENTITY,
    Band,
    Linkage,
    Model,
    Pair,
    Thresholds,
)
from casework.intake.linkage.normalise import Words, sides
from casework.intake.records import Person

DEFAULT_THRESHOLDS = Thresholds()

__all__ = ["FIELDS", "Band", "Linkage", "Model", "Pair", "Thresholds", "link"]


def link(
    cma: Sequence[Person],
    ml: Sequence[Person],
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    decisions: Mapping[tuple[str, str], bool] | None = None,
    seed: int = 0,
) -> Linkage:
    """Cross-match the two lists; `decisions` are people's earlier verdicts on pairs (True:
    same person, False: not)."""
    with _without_cyclic_gc():
        return _link(cma, ml, thresholds, decisions or {}, seed)


@contextmanager
def _without_cyclic_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: the lists hold millions of long-lived objects, which
    it would walk again and again while linking makes millions of small ones (it took a third of
    the time at a million a side). Nothing here makes a cycle; reference counting frees as ever."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _link(
    cma: Sequence[Person],
    ml: Sequence[Person],
    thresholds: Thresholds,
    decisions: Mapping[tuple[str, str], bool],
    seed: int,
) -> Linkage:
    words_ = Words()
    a, b = sides(cma, ml, words_)
    if not len(a) or not len(b):
        return Linkage([], Model({}, {}, 0.0), 0)
    candidates = candidate_pairs(a, b)
    i, j = np.divmod(candidates, len(b))
    compared = compare_pairs(a, b, i, j, words_)
    codes, patterns = count_patterns(compared)
    rng = random.Random(seed)
    u = measure_u(a, b, words_, np.random.default_rng(seed))
    model = estimate_model(patterns, same_day_patterns(a, b, words_, rng), u, len(a) * len(b))
    frequencies = Frequencies(a, b, words_, model)
    table = np.zeros(625)
    most = np.zeros(625)
    for levels in patterns:
        code = pattern_code(levels)
        table[code] = model.weight(levels)
        most[code] = frequencies.most(levels)
    floor = _weight_of(thresholds.review)
    exact = (compared.levels[:, :IDENTITY] == 3).all(axis=1)
    # Only those that even the rarest names could lift to the review band are looked at again
    # (and those that agree exactly on the person's identity, kept whatever their weight).
    hopeful = np.nonzero((table[codes] + most[codes] >= floor) | exact)[0]
    adjust = frequencies.adjust(a, b, i[hopeful], j[hopeful], compared.levels[hopeful])
    weight = table[codes[hopeful]] + adjust.sum(axis=1)
    keep = (weight >= floor) | exact[hopeful]
    kept = hopeful[keep]
    scored = Scored(
        weight[keep],
        i[kept],
        j[kept],
        compared.levels[kept],
        compared.swapped[kept],
        adjust[keep],
        unique_exact(i[kept], j[kept], exact[kept], len(a), len(b)),
    )
    confirmed = confirmed_pairs(a, b, words_, model, frequencies, decisions)
    pairs = one_to_one(a, b, model, scored, confirmed, decisions, thresholds)
    return Linkage(pairs, model, len(candidates))


def _weight_of(probability: float) -> float:
    return math.log2(probability / (1 - probability))
