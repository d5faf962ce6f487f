"""Step 5 of cross-matching, assigning one to one: pairs by decreasing weight, each person taken
once, each pair in its band.

Guarantees: people's earlier decisions win (a confirmed pair is a match, a rejected one is never
proposed again); a pair that agrees exactly on the birth name, a first name and the birth date
is a match however common the name, unless another pair of one of its people agrees as exactly
(namesakes born the same day: a person decides); a pair where one side lacks a name, a first
name or a birth date is at best to review. The result is the one a pass one row at a time would
give, computed in rounds with numpy.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from casework.intake.linkage.compare import compare_pairs
from casework.intake.linkage.estimate import Frequencies
from casework.intake.linkage.model import FIELDS, IDENTITY, LEVELS, Band, Model, Pair, Thresholds
from casework.intake.linkage.normalise import Side, Words


@dataclass
class Scored:
    """Pairs with their weight, as arrays."""

    weight: np.ndarray
    i: np.ndarray
    j: np.ndarray
    levels: np.ndarray
    swapped: np.ndarray
    adjust: np.ndarray  # (pairs, 2): birth name, first name
    exact: np.ndarray  # identity identical, no namesake: a match whatever its weight


def unique_exact(
    i: np.ndarray, j: np.ndarray, exact: np.ndarray, size_a: int, size_b: int
) -> np.ndarray:
    """The pairs that agree exactly on birth name, first name and birth date, and whose two
    people have no other such pair (namesakes born the same day are for a person to tell)."""
    per_a = np.bincount(i[exact], minlength=size_a)
    per_b = np.bincount(j[exact], minlength=size_b)
    return exact & (per_a[i] == 1) & (per_b[j] == 1)


def confirmed_pairs(
    a: Side,
    b: Side,
    words_: Words,
    model: Model,
    frequencies: Frequencies,
    decisions: Mapping[tuple[str, str], bool],
) -> Scored:
    """The pairs people said are the same person, scored as any other (and kept whatever)."""
    if not any(decisions.values()):
        return Scored(
            *(np.zeros(0, dtype=t) for t in (float, np.int64, np.int64)),
            np.zeros((0, len(FIELDS)), dtype=np.int8),
            np.zeros(0, dtype=bool),
            np.zeros((0, 2)),
            np.zeros(0, dtype=bool),
        )
    index_a = {key: n for n, key in enumerate(a.keys)}
    index_b = {key: n for n, key in enumerate(b.keys)}
    same = [
        (index_a[x], index_b[y])
        for (x, y), yes in decisions.items()
        if yes and x in index_a and y in index_b
    ]
    i = np.array([x for x, _ in same], dtype=np.int64)
    j = np.array([y for _, y in same], dtype=np.int64)
    compared = compare_pairs(a, b, i, j, words_)
    adjust = frequencies.adjust(a, b, i, j, compared.levels)
    weight = np.array([model.weight(tuple(lv)) for lv in compared.levels.tolist()])
    return Scored(
        weight + adjust.sum(axis=1),
        i,
        j,
        compared.levels,
        compared.swapped,
        adjust,
        np.zeros(len(i), dtype=bool),  # a person's decision says more
    )


def one_to_one(
    a: Side,
    b: Side,
    model: Model,
    scored: Scored,
    confirmed: Scored,
    decisions: Mapping[tuple[str, str], bool],
    thresholds: Thresholds,
) -> list[Pair]:
    """Best first, each person once. People's confirmations go first, then exact agreements on
    identity; rejections never."""
    taken_a = np.zeros(len(a), dtype=bool)
    taken_b = np.zeros(len(b), dtype=bool)
    first = greedy(confirmed.i, confirmed.j, taken_a, taken_b)
    probability = 1 / (1 + np.exp2(-scored.weight))
    allowed = (probability >= thresholds.review) | scored.exact
    rejected = {(x, y) for (x, y), yes in decisions.items() if not yes}
    if rejected:
        keys_a, keys_b = a.keys, b.keys
        allowed &= np.array(
            [
                (keys_a[x], keys_b[y]) not in rejected
                for x, y in zip(scored.i.tolist(), scored.j.tolist(), strict=True)
            ],
            dtype=bool,
        )
    order = np.lexsort((scored.j, scored.i, -scored.weight, ~scored.exact))
    order = order[allowed[order]]
    then = order[greedy(scored.i[order], scored.j[order], taken_a, taken_b)]
    weigh = _weights_per_level(model)
    out: list[Pair] = []
    for decided, rows, chosen in ((True, confirmed, first), (False, scored, then)):
        # Built column by column, then zipped into pairs in C (a loop over rows: seconds).
        levels = rows.levels[chosen]
        contributions = weigh[np.arange(len(FIELDS)), levels.astype(np.int64) + 1]
        contributions[:, :2] += rows.adjust[chosen]
        chances = np.ones(len(chosen)) if decided else probability[chosen]
        # A match: by its probability if nothing of the identity is missing; by an exact
        # agreement on it; by a person's decision.
        complete = (levels[:, :IDENTITY] >= 0).all(axis=1)
        matched = ((chances >= thresholds.match) & complete) | rows.exact[chosen] | decided
        bands = [Band.REVIEW, Band.MATCH]
        out.extend(
            map(
                Pair,
                map(a.keys.__getitem__, rows.i[chosen].tolist()),
                map(b.keys.__getitem__, rows.j[chosen].tolist()),
                chances.tolist(),
                rows.weight[chosen].tolist(),
                map(bands.__getitem__, matched.tolist()),
                map(tuple, levels.tolist()),
                map(tuple, contributions.tolist()),
                rows.swapped[chosen].tolist(),
                itertools.repeat(decided),
                rows.exact[chosen].tolist(),
            )
        )
    return out


def _weights_per_level(model: Model) -> np.ndarray:
    """Each field's weight per level: a row per field, a column per level + 1 (-1, missing,
    weighs nothing)."""
    return np.array(
        [
            [
                model.contribution(name, level) if level < LEVELS[name] else 0.0
                for level in range(-1, 4)
            ]
            for name in FIELDS
        ]
    )


GREEDY_ROUNDS = 50  # then the few rows left go one by one


def greedy(i: np.ndarray, j: np.ndarray, taken_a: np.ndarray, taken_b: np.ndarray) -> np.ndarray:
    """The positions of the rows (best first) that a pass one row at a time would keep: a row
    whose two people no earlier kept row took. `taken_a`/`taken_b` say who is taken already, and
    are updated.

    Done in rounds, with numpy: a row that comes first for both its people among the rows left
    is kept (no row before it can take either), then the rows it rules out leave. Each round
    keeps at least the first row left; chains of rows competing for the same people are short,
    and after GREEDY_ROUNDS the rest go one at a time."""
    alive = np.nonzero(~(taken_a[i] | taken_b[j]))[0]
    kept = []
    first_a = np.zeros(len(taken_a), dtype=np.int64)
    first_b = np.zeros(len(taken_b), dtype=np.int64)
    for _ in range(GREEDY_ROUNDS):
        if not len(alive):
            break
        left, right = i[alive], j[alive]
        rank = np.arange(len(alive))
        first_a[left] = len(alive)
        first_b[right] = len(alive)
        np.minimum.at(first_a, left, rank)
        np.minimum.at(first_b, right, rank)
        wins = (first_a[left] == rank) & (first_b[right] == rank)
        kept.append(alive[wins])
        taken_a[left[wins]] = True
        taken_b[right[wins]] = True
        alive = alive[~(taken_a[left] | taken_b[right])]
    rest = []
    for n, x, y in zip(alive.tolist(), i[alive].tolist(), j[alive].tolist(), strict=True):
        if not (taken_a[x] or taken_b[y]):
            taken_a[x] = taken_b[y] = True
            rest.append(n)
    kept.append(np.array(rest, dtype=np.int64))
    return np.sort(np.concatenate(kept))
