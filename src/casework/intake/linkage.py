"""Cross-matching the chamber's contracts with the Mission Locale's caseload (record linkage).

The steps, each in its own function:

1. **Normalise** both lists (`_Side`): names folded (`casework.names`: accents, case, hyphens,
   apostrophes), a birth name also without its particle ("de la Fontaine" → "fontaine"), every
   first name and every run of first names ("JEAN PIERRE" can be "Jean-Pierre"), the birth date
   as digits, the postcode and its département.
2. **Block**: only pairs that share a blocking key are compared — the birth date with the first
   two letters of the first name, or of the birth name (a typo in one name still meets), or of
   both in either order (swapped first and last names meet), and the two names together in
   either order (a typo or a day/month swap in the date still meets). Pairs are built with numpy.
3. **Compare** each candidate pair field by field into levels: birth name and first name
   (identical / close (Jaro-Winkler ≥ 0.92) / similar (≥ 0.80) / different, in the orientation
   that fits best, swapped names included), birth date (identical / one digit off or day and month
   swapped / same month and year / different), postcode (identical / same département or commune
   / different); a missing value says nothing.
4. **Score** (Fellegi-Sunter): u, how often each level happens between two unrelated people, is
   measured on random pairs; m, how often it happens for the same person, is estimated by EM on
   the candidates' patterns (unsupervised, in sessions as splink does), then the prior, the
   share of all pairs that match. A pair's weight is the sum of log2(m/u) over its fields plus
   the prior's log-odds; its probability follows. Nothing here is tuned on a known truth.
5. **Assign one to one**: pairs by decreasing weight, each person taken once; bands by the
   probability thresholds of the configuration (fixed in advance): match, to review, no match.
   Decisions people made in earlier runs win: a confirmed pair is a match, a rejected one is
   never proposed again.

Every pair kept is explained field by field (`Pair.explain`), in French.
"""

from __future__ import annotations

import math
import random
from array import array
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

import numpy as np
from rapidfuzz.distance import JaroWinkler

from casework.intake.records import Person
from casework.names import name_key, words

FIELDS = ("birth_name", "first_name", "birth_date", "postcode")
# Levels per field, highest first; -1 is "missing" (no evidence either way).
LEVELS = {"birth_name": 4, "first_name": 4, "birth_date": 4, "postcode": 3}
LABELS = {
    "birth_name": ("différent", "ressemblant", "proche (faute de frappe)", "identique"),
    "first_name": ("différent", "ressemblant", "proche (faute de frappe)", "identique"),
    "birth_date": (
        "différente",
        "même mois et même année",
        "un chiffre ou jour et mois inversés",
        "identique",
    ),
    "postcode": ("différent", "même département ou même commune", "identique"),
}
FIELD_LABELS = {
    "birth_name": "nom de naissance",
    "first_name": "prénom",
    "birth_date": "date de naissance",
    "postcode": "code postal",
}
CLOSE, SIMILAR = 0.92, 0.80
PARTICLES = frozenset({"le", "la", "de", "du", "des", "d", "l", "van", "von", "der", "den"})
RANDOM_PAIRS = 100_000  # sampled to measure u, and to estimate m on the same day
EM_ROUNDS = 50
CHUNK = 100_000  # candidates turned into Python integers at a time


class Band(StrEnum):
    MATCH = "match"
    REVIEW = "review"
    NO_MATCH = "no_match"


@dataclass(frozen=True)
class Thresholds:
    """Probabilities that a pair is the same person: at or above `match`, a match; at or above
    `review`, a person decides; below, no match."""

    match: float = 0.99
    review: float = 0.50


@dataclass(frozen=True)
class Pair:
    cma: str
    ml: str
    probability: float
    weight: float
    band: Band
    levels: tuple[int, ...]  # per field of FIELDS, -1 missing
    contributions: tuple[float, ...]  # log2(m/u) per field
    swapped: bool = False  # first and last names swapped between the files
    decided: bool = False  # a person's earlier decision

    def explain(self) -> list[str]:
        """One line per field, in French: what agreed, and how much it weighed."""
        lines = []
        for name, level, weight in zip(FIELDS, self.levels, self.contributions, strict=True):
            label = "absent d'un côté" if level < 0 else LABELS[name][level]
            lines.append(f"{FIELD_LABELS[name]} : {label} ({weight:+.1f})")
        if self.swapped:
            lines.append("nom et prénom inversés entre les deux fichiers")
        if self.decided:
            lines.append("décision d'une personne lors d'un passage précédent")
        return lines


@dataclass
class Model:
    """The Fellegi-Sunter parameters, per field and level."""

    m: dict[str, list[float]]
    u: dict[str, list[float]]
    prior: float  # the share of all pairs of the two lists that match

    def contribution(self, name: str, level: int) -> float:
        if level < 0:
            return 0.0
        return math.log2(self.m[name][level] / self.u[name][level])

    def weight(self, levels: Sequence[int]) -> float:
        prior = math.log2(self.prior / (1 - self.prior))
        return prior + sum(self.contribution(n, lv) for n, lv in zip(FIELDS, levels, strict=True))


@dataclass
class Linkage:
    pairs: list[Pair]  # kept pairs (match and review), one to one, best first
    model: Model
    candidates: int  # pairs compared after blocking
    stats: dict[str, float] = field(default_factory=dict)

    def band(self, band: Band) -> list[Pair]:
        return [p for p in self.pairs if p.band == band]


# -- 1. normalising ------------------------------------------------------------------------------


class _Side:
    """One list, normalised into columns."""

    def __init__(self, people: Sequence[Person]):
        self.keys = [p.key for p in people]
        self.birth: list[str] = []  # folded birth name, run together
        self.birth_bare: list[str] = []  # the same without its particles
        self.first: list[str] = []  # the usual first name, run together
        self.firsts: list[frozenset[str]] = []  # every first name and run of first names
        self.dates: list[date | None] = []
        self.date_digits: list[str] = []
        self.postcode: list[str] = []
        self.commune: list[str] = []
        # People share names, dates and places: each distinct value is made and kept once
        # (a million people, a few hundred thousand names).
        births: dict[str, tuple[str, str]] = {}
        firsts: dict[str, tuple[str, frozenset[str]]] = {}
        digits: dict[date, str] = {}
        places: dict[tuple[str | None, str | None], tuple[str, str]] = {}
        for p in people:
            birth = births.get(p.birth_name)
            if birth is None:
                birth = births[p.birth_name] = _birth_keys(p.birth_name)
            self.birth.append(birth[0])
            self.birth_bare.append(birth[1])
            first = firsts.get(p.first_names)
            if first is None:
                first = firsts[p.first_names] = _first_keys(p.first_names)
            self.first.append(first[0])
            self.firsts.append(first[1])
            self.dates.append(p.birth_date)
            if p.birth_date is None:
                self.date_digits.append("")
            else:
                text = digits.get(p.birth_date)
                if text is None:
                    text = digits[p.birth_date] = p.birth_date.strftime("%d%m%Y")
                self.date_digits.append(text)
            place = places.get((p.postcode, p.commune))
            if place is None:
                place = places[(p.postcode, p.commune)] = (
                    (p.postcode or "").strip(),
                    name_key(p.commune or ""),
                )
            self.postcode.append(place[0])
            self.commune.append(place[1])

    def __len__(self) -> int:
        return len(self.keys)


def _birth_keys(name: str) -> tuple[str, str]:
    """The birth name run together, and the same without its leading particles."""
    found = words(name)
    bare = found
    while len(bare) > 1 and bare[0] in PARTICLES:
        bare = bare[1:]
    return "".join(found), "".join(bare)


def _first_keys(names: str) -> tuple[str, frozenset[str]]:
    """The usual first name, and every first name and run of first names ("JEAN PIERRE" can
    be "Jean-Pierre")."""
    given = [g for g in (name_key(n) for n in (names or "").split()) if g]
    runs = set(given)
    flat = words(names or "")
    for size in (1, 2, 3):
        runs.update("".join(flat[i : i + size]) for i in range(len(flat) - size + 1))
    return (given[0] if given else ""), frozenset(runs)


# -- 2. blocking ---------------------------------------------------------------------------------


def _blocking_keys(side: _Side) -> list[list[str | None]]:
    """Per blocking rule, each person's key (None: not blocked by that rule)."""
    by_date_first, by_date_birth, by_date_initials, by_names = [], [], [], []
    for i in range(len(side)):
        digits = side.date_digits[i]
        first, birth = side.first[i], side.birth[i]
        by_date_first.append(f"{digits}:{first[:2]}" if digits and first else None)
        by_date_birth.append(f"{digits}:{birth[:2]}" if digits and birth else None)
        # In either order: swapped first and last names meet.
        initials = sorted((first[:2], birth[:2]))
        by_date_initials.append(f"{digits}:{initials[0]}:{initials[1]}" if digits else None)
        pair = sorted((first, birth))
        by_names.append(f"{pair[0]}:{pair[1]}" if first and birth else None)
    return [by_date_first, by_date_birth, by_date_initials, by_names]


def _candidates(a: _Side, b: _Side) -> np.ndarray:
    """Pairs (as a * len(b) + b) that share a key of some rule, once each."""
    chunks = []
    single: list[int] = []  # blocks of one on each side, the most common: no array for them
    for keys_a, keys_b in zip(_blocking_keys(a), _blocking_keys(b), strict=True):
        index_b: dict[str, list[int]] = {}
        for j, key in enumerate(keys_b):
            if key is not None:
                index_b.setdefault(key, []).append(j)
        groups: dict[str, list[int]] = {}
        for i, key in enumerate(keys_a):
            if key is not None and key in index_b:
                groups.setdefault(key, []).append(i)
        for key, left in groups.items():
            right = index_b[key]
            if len(left) == 1 and len(right) == 1:
                single.append(left[0] * len(b) + right[0])
            else:
                la = np.array(left, dtype=np.int64)
                rb = np.array(right, dtype=np.int64)
                chunks.append((la[:, None] * len(b) + rb[None, :]).ravel())
    chunks.append(np.array(single, dtype=np.int64))
    return np.unique(np.concatenate(chunks))


# -- 3. comparing --------------------------------------------------------------------------------


def _name_level(x: str, y: str, x_bare: str = "", y_bare: str = "") -> int:
    if not x or not y:
        return -1
    if x == y or (x_bare and x_bare == y_bare):
        return 3
    similarity = JaroWinkler.normalized_similarity(x, y)
    return 2 if similarity >= CLOSE else 1 if similarity >= SIMILAR else 0


def _first_level(xs: frozenset[str], ys: frozenset[str], x: str, y: str) -> int:
    """Any first name (or run of them) in common: identical; else the usual first names'
    likeness."""
    if not xs or not ys:
        return -1
    if not xs.isdisjoint(ys):
        return 3
    similarity = JaroWinkler.normalized_similarity(x, y)
    return 2 if similarity >= CLOSE else 1 if similarity >= SIMILAR else 0


def _swapped_level(name: str, firsts: frozenset[str], first: str) -> int:
    """A birth name compared with the other side's first names."""
    if not name or not firsts:
        return -1
    if name in firsts:
        return 3
    similarity = JaroWinkler.normalized_similarity(name, first)
    return 2 if similarity >= CLOSE else 1 if similarity >= SIMILAR else 0


def _date_level(x: date | None, y: date | None, xd: str, yd: str) -> int:
    if x is None or y is None:
        return -1
    if x == y:
        return 3
    if sum(c != d for c, d in zip(xd, yd, strict=True)) == 1 or (
        x.year == y.year and x.day == y.month and x.month == y.day
    ):
        return 2
    return 1 if (x.year, x.month) == (y.year, y.month) else 0


def _postcode_level(a: _Side, i: int, b: _Side, j: int) -> int:
    x, y = a.postcode[i], b.postcode[j]
    if not x or not y:
        return -1
    if x == y:
        return 2
    same_commune = a.commune[i] and a.commune[i] == b.commune[j]
    return 1 if x[:2] == y[:2] or same_commune else 0


def _compare(a: _Side, i: int, b: _Side, j: int) -> tuple[tuple[int, int, int, int], bool]:
    """The pair's levels, in the orientation of the names that fits best."""
    birth = _name_level(a.birth[i], b.birth[j], a.birth_bare[i], b.birth_bare[j])
    first = _first_level(a.firsts[i], b.firsts[j], a.first[i], b.first[j])
    swapped = False
    if birth + first < 6:
        # Swapped between the files: the birth name on one side among the other's first names.
        swapped_birth = _swapped_level(a.birth[i], b.firsts[j], b.first[j])
        swapped_first = _swapped_level(b.birth[j], a.firsts[i], a.first[i])
        if swapped_birth + swapped_first > birth + first:
            birth, first, swapped = swapped_birth, swapped_first, True
    when = _date_level(a.dates[i], b.dates[j], a.date_digits[i], b.date_digits[j])
    return (birth, first, when, _postcode_level(a, i, b, j)), swapped


# -- 4. scoring ----------------------------------------------------------------------------------


def _measure_u(a: _Side, b: _Side, rng: random.Random) -> dict[str, list[float]]:
    """How often each level happens between two people taken at random (almost never the
    same person), smoothed so that no level is impossible."""
    counts = {name: [1.0] * LEVELS[name] for name in FIELDS}
    for _ in range(min(RANDOM_PAIRS, len(a) * len(b))):
        levels, _swapped = _compare(a, rng.randrange(len(a)), b, rng.randrange(len(b)))
        for name, level in zip(FIELDS, levels, strict=True):
            if level >= 0:
                counts[name][level] += 1
    return {name: [c / sum(cs) for c in cs] for name, cs in counts.items() for cs in [cs]}


def _same_day_patterns(a: _Side, b: _Side, rng: random.Random) -> Counter[tuple[int, ...]]:
    """The patterns of every pair born the same day, for a random sample of days (up to
    RANDOM_PAIRS pairs)."""
    days_a: dict[str, list[int]] = {}
    days_b: dict[str, list[int]] = {}
    for side, days in ((a, days_a), (b, days_b)):
        for i, digits in enumerate(side.date_digits):
            if digits:
                days.setdefault(digits, []).append(i)
    shared = sorted(set(days_a) & set(days_b))
    rng.shuffle(shared)
    patterns: Counter[tuple[int, ...]] = Counter()
    budget = RANDOM_PAIRS
    for day in shared:
        for i in days_a[day]:
            for j in days_b[day]:
                patterns[_compare(a, i, b, j)[0]] += 1
        budget -= len(days_a[day]) * len(days_b[day])
        if budget <= 0:
            break
    return patterns


def _estimate(
    patterns: Counter[tuple[int, ...]],
    dates_agree: Counter[tuple[int, ...]],
    u: dict[str, list[float]],
    pairs: int,
) -> Model:
    """m by EM, in two sessions as splink does: among candidates whose names agree exactly
    (m of the date and the postcode), and among pairs born the same day (`dates_agree`, blocked
    on the date alone, so that their names are as unrelated as random people's: m of the names
    and the postcode); a field a session selects on tells nothing there and is left out. Then the
    prior: the share of all `pairs` (every pair of the two lists) that match, from the
    candidates' Bayes factors (pairs never compared are taken as different people)."""
    m = {name: _starting_m(LEVELS[name]) for name in FIELDS}
    names_agree = Counter({k: n for k, n in patterns.items() if k[0] == 3 and k[1] == 3})
    by_names = _em(names_agree, u, m, ("birth_date", "postcode"))
    by_dates = _em(dates_agree, u, m, ("birth_name", "first_name", "postcode"))
    m = {
        "birth_name": by_dates["birth_name"],
        "first_name": by_dates["first_name"],
        "birth_date": by_names["birth_date"],
        "postcode": [
            (x + y) / 2 for x, y in zip(by_names["postcode"], by_dates["postcode"], strict=True)
        ],
    }
    factors = {k: 2 ** Model(m, u, 0.5).weight(k) for k in patterns}
    prior = min(max(1, sum(patterns.values())), pairs) / pairs
    for _ in range(EM_ROUNDS):
        expected = sum(
            n * prior * f / (prior * f + 1 - prior)
            for k, n in patterns.items()
            for f in [factors[k]]
        )
        prior = min(max(expected, 1.0) / pairs, 0.5)
    return Model(m, u, prior)


def _em(
    patterns: Counter[tuple[int, ...]],
    u: dict[str, list[float]],
    start: dict[str, list[float]],
    fields: tuple[str, ...],
) -> dict[str, list[float]]:
    """EM over `patterns` on `fields` only: m and the session's share of matches, u held."""
    m = {name: list(start[name]) for name in FIELDS}
    share = 0.5
    total = sum(patterns.values())
    if not total:
        return m
    used = [FIELDS.index(name) for name in fields]
    for _ in range(EM_ROUNDS):
        expected = {name: [1e-6] * LEVELS[name] for name in fields}
        matched = 0.0
        for levels, count in patterns.items():
            ratio = share / (1 - share)
            for index in used:
                level = levels[index]
                if level >= 0:
                    name = FIELDS[index]
                    ratio *= m[name][level] / u[name][level]
            p = ratio / (1 + ratio)
            matched += p * count
            for index in used:
                if levels[index] >= 0:
                    expected[FIELDS[index]][levels[index]] += p * count
        for name in fields:
            m[name] = [e / sum(expected[name]) for e in expected[name]]
        share = min(max(matched / total, 1e-6), 1 - 1e-6)
    return m


def _starting_m(levels: int) -> list[float]:
    """Agreement likely for the same person: most of the mass on the top level."""
    base = [0.02] * levels
    base[-1] = 1 - 0.02 * (levels - 1)
    return base


# -- 5. one to one -------------------------------------------------------------------------------


def link(
    cma: Sequence[Person],
    ml: Sequence[Person],
    thresholds: Thresholds = Thresholds(),
    decisions: Mapping[tuple[str, str], bool] | None = None,
    seed: int = 0,
) -> Linkage:
    """Cross-match the two lists; `decisions` are people's earlier verdicts on pairs (True:
    same person, False: not)."""
    decisions = decisions or {}
    a, b = _Side(cma), _Side(ml)
    frequencies = _Frequencies(a, b)
    candidates = _candidates(a, b)
    width = len(b)
    # Each candidate's pattern (as an index into `kinds`) and orientation, compactly: there
    # may be millions of candidates, and a few hundred patterns.
    kinds: dict[tuple[int, ...], int] = {}
    codes = array("h")
    flipped = bytearray()
    for start in range(0, len(candidates), CHUNK):
        for code in candidates[start : start + CHUNK].tolist():
            i, j = divmod(code, width)
            levels, swapped = _compare(a, i, b, j)
            kind = kinds.get(levels)
            if kind is None:
                kind = kinds[levels] = len(kinds)
            codes.append(kind)
            flipped.append(swapped)
    by_kind = list(kinds)
    counts = np.bincount(np.frombuffer(codes, dtype=np.int16), minlength=len(by_kind))
    patterns = Counter({levels: int(counts[k]) for levels, k in kinds.items()})
    rng = random.Random(seed)
    u = _measure_u(a, b, rng)
    model = _estimate(patterns, _same_day_patterns(a, b, rng), u, len(a) * len(b))
    weights = np.array([model.weight(levels) for levels in by_kind] or [0.0])
    most = np.array([frequencies.most(model, levels) for levels in by_kind] or [0.0])
    kind_of = np.frombuffer(codes, dtype=np.int16)
    floor = _weight_of(thresholds.review)
    # Only those that even the rarest names could lift to the review band are looked at again.
    hopeful = np.nonzero(weights[kind_of] + most[kind_of] >= floor)[0]
    scored = []
    for n in hopeful.tolist():
        i, j = divmod(int(candidates[n]), width)
        levels = by_kind[kind_of[n]]
        adjust = frequencies.adjust(model, a, i, b, j, levels)
        weight = float(weights[kind_of[n]]) + sum(adjust)
        if weight >= floor:
            scored.append((weight, i, j, levels, bool(flipped[n]), adjust))
    index_a = {key: i for i, key in enumerate(a.keys)}
    index_b = {key: j for j, key in enumerate(b.keys)}
    confirmed = []
    for (key_a, key_b), same in decisions.items():
        if same and key_a in index_a and key_b in index_b:
            i, j = index_a[key_a], index_b[key_b]
            levels, swapped = _compare(a, i, b, j)
            adjust = frequencies.adjust(model, a, i, b, j, levels)
            confirmed.append((model.weight(levels) + sum(adjust), i, j, levels, swapped, adjust))
    pairs = _one_to_one(a, b, model, scored, confirmed, decisions, thresholds)
    return Linkage(pairs, model, len(candidates), {"kept": float(len(scored))})


class _Frequencies:
    """How common each birth name and usual first name is, on both lists together: agreeing on
    a rare name says more than agreeing on "Martin" (splink's term-frequency adjustment)."""

    def __init__(self, a: _Side, b: _Side):
        self.total = len(a) + len(b)
        self.birth = Counter(a.birth) + Counter(b.birth)
        self.first = Counter(a.first) + Counter(b.first)
        self.rarest = 1 / max(1, self.total)

    def adjust(
        self, model: Model, a: _Side, i: int, b: _Side, j: int, levels: Sequence[int]
    ) -> tuple[float, float]:
        """What to add to the birth name's and first name's weights for exact agreement: the
        generic u replaced by the frequency of the very name."""
        birth = first = 0.0
        if levels[0] == 3:
            share = max(self.birth[a.birth[i]], 1) / self.total
            birth = math.log2(model.u["birth_name"][3] / share)
        if levels[1] == 3 and a.first[i] in b.firsts[j]:
            share = max(self.first[a.first[i]], 1) / self.total
            first = math.log2(model.u["first_name"][3] / share)
        return birth, first

    def most(self, model: Model, levels: Sequence[int]) -> float:
        """The largest adjustment any pair with these levels could get."""
        top = 0.0
        if levels[0] == 3:
            top += math.log2(model.u["birth_name"][3] / self.rarest)
        if levels[1] == 3:
            top += math.log2(model.u["first_name"][3] / self.rarest)
        return top


def _weight_of(probability: float) -> float:
    return math.log2(probability / (1 - probability))


Scored = tuple[float, int, int, tuple[int, ...], bool, tuple[float, float]]


def _one_to_one(
    a: _Side,
    b: _Side,
    model: Model,
    scored: list[Scored],
    confirmed: list[Scored],
    decisions: Mapping[tuple[str, str], bool],
    thresholds: Thresholds,
) -> list[Pair]:
    """Best first, each person once. People's confirmations go first; rejections never."""
    taken_a: set[int] = set()
    taken_b: set[int] = set()
    out = []
    ranked = sorted(scored, key=lambda c: (-c[0], c[1], c[2]))
    for decided, rows in ((True, confirmed), (False, ranked)):
        for weight, i, j, levels, swapped, adjust in rows:
            if i in taken_a or j in taken_b:
                continue
            if not decided and decisions.get((a.keys[i], b.keys[j])) is False:
                continue
            probability = 1.0 if decided else 1 / (1 + 2 ** (-weight))
            band = (
                Band.MATCH
                if probability >= thresholds.match
                else Band.REVIEW
                if probability >= thresholds.review
                else Band.NO_MATCH
            )
            if band == Band.NO_MATCH:
                continue
            taken_a.add(i)
            taken_b.add(j)
            contributions = [
                model.contribution(n, lv) for n, lv in zip(FIELDS, levels, strict=True)
            ]
            contributions[0] += adjust[0]
            contributions[1] += adjust[1]
            out.append(
                Pair(
                    a.keys[i],
                    b.keys[j],
                    probability,
                    weight,
                    band,
                    levels,
                    tuple(contributions),
                    swapped,
                    decided,
                )
            )
    return out
