"""Cross-matching the chamber's contracts with the Mission Locale's caseload (record linkage).

The steps, each in its own function:

1. **Normalise** both lists (`_Side`): names folded (`casework.names`: accents, case, hyphens,
   apostrophes), a birth name also without its particle ("de la Fontaine" → "fontaine"), every
   first name and every run of first names ("JEAN PIERRE" can be "Jean-Pierre"), the birth date
   as digits, the postcode and its département.
2. **Block**: only pairs that share a blocking key are compared — the birth date with the usual
   first name, or with the birth name's first three letters (a typo in one name still meets),
   or with both names' initials in either order (swapped first and last names meet), and the
   two names together in either order (a typo or a day/month swap in the date still meets).
   Pairs are built with numpy, from each side sorted by key.
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
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

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

    def band(self, band: Band) -> list[Pair]:
        return [p for p in self.pairs if p.band == band]


# -- 1. normalising ------------------------------------------------------------------------------

FIRST_KEYS = 6  # first names and runs of them kept per person (more are very rare)
PREFIXES = 65_536  # room for every prefix of up to three letters of a folded name


class _Words:
    """One numbering of every name key of both lists (0: none), so that names compare as
    integers, and each distinct pair of names is measured once; and one of name prefixes, for
    blocking."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {"": 0}
        self.text: list[str] = [""]
        self.prefixes: dict[str, int] = {}

    def id(self, word: str) -> int:
        found = self.ids.get(word)
        if found is None:
            found = self.ids[word] = len(self.text)
            self.text.append(word)
        return found

    def prefix(self, text: str) -> int:
        """A name's first letters as a number, the same on both sides (folded names: letters
        and digits only, so at most 37³ of them)."""
        found = self.prefixes.get(text)
        if found is None:
            found = self.prefixes[text] = len(self.prefixes)
            assert found < PREFIXES
        return found


def _factorize(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Each value's number among the distinct values, and those values in order."""
    index: dict[Any, int] = {}
    codes = [index.setdefault(v, len(index)) for v in values]
    return np.array(codes, dtype=np.int64), list(index)


class _Side:
    """One list, normalised into integer arrays. People share names, dates and places: each
    distinct value is worked out once, then spread to its people with numpy."""

    def __init__(self, people: Sequence[Person], words_: _Words):
        self.keys = [p.key for p in people]
        n = len(people)
        # Birth names: run together, without particles, and their first letters.
        at, names = _factorize([p.birth_name for p in people])
        keys = [_birth_keys(name) for name in names]
        self.birth_id = _spread(at, [words_.id(whole) for whole, _ in keys], np.int32)
        self.bare_id = _spread(at, [words_.id(bare) for _, bare in keys], np.int32)
        self.birth2 = _spread(at, [words_.prefix(whole[:2]) for whole, _ in keys], np.int64)
        self.birth3 = _spread(at, [words_.prefix(whole[:3]) for whole, _ in keys], np.int64)
        # First names: the usual one, and every first name and run of them (-1 padded).
        at, names = _factorize([p.first_names for p in people])
        padding = [-1] * FIRST_KEYS
        usual_ids, rows, first2 = [], [], []
        for name in names:
            usual, runs = _first_keys(name)
            ids = sorted(words_.id(r) for r in runs)[:FIRST_KEYS]
            usual_ids.append(words_.id(usual))
            rows.append(ids + padding[len(ids) :])
            first2.append(words_.prefix(usual[:2]))
        self.first_id = _spread(at, usual_ids, np.int32)
        self.first2 = _spread(at, first2, np.int64)
        table = np.array(rows, dtype=np.int32).reshape(len(names), FIRST_KEYS)
        self.firsts = table[at] if n else np.zeros((0, FIRST_KEYS), dtype=np.int32)
        # Birth dates: day, month, year (0: none), as one number, and as eight digits.
        at, dates = _factorize([p.birth_date for p in people])
        self.day = _spread(at, [d.day if d else 0 for d in dates], np.int16)
        self.month = _spread(at, [d.month if d else 0 for d in dates], np.int16)
        self.year = _spread(at, [d.year if d else 0 for d in dates], np.int16)
        self.date_code = self.year.astype(np.int64) * 10_000 + self.month * 100 + self.day
        d, m, y = self.day, self.month, self.year
        self.digits = np.stack(
            [d // 10, d % 10, m // 10, m % 10, y // 1000, y // 100 % 10, y // 10 % 10, y % 10],
            axis=1,
        ).astype(np.uint8)
        # Places: the postcode, its département, the commune.
        at, places = _factorize([(p.postcode, p.commune) for p in people])
        codes = [(code or "").strip() for code, _ in places]
        self.postcode_id = _spread(at, [words_.id(f"cp:{c}") if c else 0 for c in codes], np.int32)
        self.department_id = _spread(
            at, [words_.id(f"dep:{c[:2]}") if c else 0 for c in codes], np.int32
        )
        self.commune_id = _spread(
            at,
            [words_.id(f"commune:{name_key(c)}") if c else 0 for _, c in places],
            np.int32,
        )

    def __len__(self) -> int:
        return len(self.keys)


def _spread(at: np.ndarray, values: list[int], dtype: Any) -> np.ndarray:
    """Per-distinct-value numbers, given to each person."""
    return np.array(values, dtype=dtype)[at] if len(at) else np.zeros(0, dtype=dtype)


def _birth_keys(name: str) -> tuple[str, str]:
    """The birth name run together, and the same without its leading particles."""
    found = words(name)
    bare = found
    while len(bare) > 1 and bare[0] in PARTICLES:
        bare = bare[1:]
    return "".join(found), "".join(bare)


def _first_keys(names: str) -> tuple[str, set[str]]:
    """The usual first name, and every first name and run of first names ("JEAN PIERRE" can
    be "Jean-Pierre")."""
    tokens = (names or "").split()
    given = [g for g in (name_key(t) for t in tokens) if g]
    runs = set(given)
    flat = [w for t in tokens for w in words(t)]  # by token: tokens repeat, whole strings less
    for size in (1, 2, 3):
        runs.update("".join(flat[i : i + size]) for i in range(len(flat) - size + 1))
    return (given[0] if given else ""), runs


# -- 2. blocking ---------------------------------------------------------------------------------


def _blocking_keys(side: _Side) -> list[np.ndarray]:
    """Per blocking rule, each person's key as an integer (-1: not blocked by that rule)."""
    date = np.where(side.date_code > 0, side.date_code, -1)
    width = np.int64(PREFIXES)
    low = np.minimum(side.birth2, side.first2)
    high = np.maximum(side.birth2, side.first2)
    both = (side.birth_id > 0) & (side.first_id > 0)
    low_id = np.minimum(side.birth_id, side.first_id).astype(np.int64)
    high_id = np.maximum(side.birth_id, side.first_id).astype(np.int64)
    ids = np.int64(2**31)
    return [
        # The birth date and the usual first name: a typo in the birth name still meets.
        np.where((date > 0) & (side.first_id > 0), date * ids + side.first_id, -1),
        # The birth date and the birth name's first three letters: first names that differ.
        np.where((date > 0) & (side.birth_id > 0), date * width + side.birth3, -1),
        # The birth date and both names' initials in either order: swapped names meet.
        np.where(date > 0, (date * width + low) * width + high, -1),
        # Both names, in either order: a mistyped or swapped birth date meets.
        np.where(both, low_id * ids + high_id, -1),
    ]


def _candidates(a: _Side, b: _Side) -> np.ndarray:
    """Pairs (as a * len(b) + b) that share a key of some rule, once each. Built with numpy:
    each side sorted by key, each of `a`'s people repeated once per person of `b` with the
    same key."""
    chunks = []
    for keys_a, keys_b in zip(_blocking_keys(a), _blocking_keys(b), strict=True):
        order_b = np.argsort(keys_b, kind="stable")
        sorted_b = keys_b[order_b]
        valid_a = np.nonzero(keys_a >= 0)[0]
        wanted = keys_a[valid_a]
        start = np.searchsorted(sorted_b, wanted, side="left")
        end = np.searchsorted(sorted_b, wanted, side="right")
        count = end - start
        has = count > 0
        left, start, count = valid_a[has], start[has], count[has]
        total = int(count.sum())
        if not total:
            continue
        first_of = np.repeat(np.cumsum(count) - count, count)
        offsets = np.arange(total, dtype=np.int64) - first_of
        right = order_b[np.repeat(start, count) + offsets]
        chunks.append(np.repeat(left.astype(np.int64), count) * len(b) + right)
    if not chunks:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.concatenate(chunks))


# -- 3. comparing --------------------------------------------------------------------------------
#
# Pairs are compared all at once, as arrays: equality on integer ids, Jaro-Winkler (rapidfuzz's
# `cpdist`, in C, on both cores) once per distinct pair of names.


@dataclass
class _Compared:
    levels: np.ndarray  # (pairs, 4) int8, -1 missing
    swapped: np.ndarray  # (pairs,) bool


def _similarity(words_: _Words, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Jaro-Winkler of each pair of word ids, measured once per distinct pair."""
    if not len(x):
        return np.zeros(0, dtype=np.float32)
    width = np.int64(len(words_.text))
    codes = x.astype(np.int64) * width + y.astype(np.int64)
    distinct, back = np.unique(codes, return_inverse=True)
    text = words_.text
    left = [text[c] for c in (distinct // width).tolist()]
    right = [text[c] for c in (distinct % width).tolist()]
    scores = cpdist(
        left, right, scorer=JaroWinkler.normalized_similarity, workers=-1, dtype=np.float32
    )
    return scores[back]


def _graded(exact: np.ndarray, similarity: np.ndarray, missing: np.ndarray) -> np.ndarray:
    levels = np.where(similarity >= CLOSE, 2, np.where(similarity >= SIMILAR, 1, 0))
    levels = np.where(exact, 3, levels)
    return np.where(missing, -1, levels).astype(np.int8)


def _among(word: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Whether each pair's `word` is one of its `firsts` (a row of ids, -1 padded)."""
    return (firsts == word[:, None]).any(axis=1) & (word > 0)


def _compare(a: _Side, b: _Side, i: np.ndarray, j: np.ndarray, words_: _Words) -> _Compared:
    """Each pair's levels, in the orientation of the names that fits best."""
    birth_a, birth_b = a.birth_id[i], b.birth_id[j]
    first_a, first_b = a.first_id[i], b.first_id[j]
    firsts_a, firsts_b = a.firsts[i], b.firsts[j]
    # Names as given.
    exact_birth = (birth_a == birth_b) | (a.bare_id[i] == b.bare_id[j])
    birth = _graded(
        exact_birth, _similarity(words_, birth_a, birth_b), (birth_a == 0) | (birth_b == 0)
    )
    shared = np.zeros(len(i), dtype=bool)
    for k in range(FIRST_KEYS):
        column = firsts_a[:, k]
        shared |= (firsts_b == column[:, None]).any(axis=1) & (column >= 0)
    first = _graded(shared, _similarity(words_, first_a, first_b), (first_a == 0) | (first_b == 0))
    # Swapped between the files: a birth name among the other side's first names.
    swapped = np.zeros(len(i), dtype=bool)
    maybe = np.nonzero((birth.astype(np.int16) + first < 6) & (birth >= 0) & (first >= 0))[0]
    if len(maybe):
        sb = _graded(
            _among(birth_a[maybe], firsts_b[maybe]),
            _similarity(words_, birth_a[maybe], first_b[maybe]),
            np.zeros(len(maybe), dtype=bool),
        )
        sf = _graded(
            _among(birth_b[maybe], firsts_a[maybe]),
            _similarity(words_, birth_b[maybe], first_a[maybe]),
            np.zeros(len(maybe), dtype=bool),
        )
        better = sb.astype(np.int16) + sf > birth[maybe].astype(np.int16) + first[maybe]
        chosen = maybe[better]
        birth[chosen], first[chosen], swapped[chosen] = sb[better], sf[better], True
    # Birth dates.
    day_a, day_b, month_a, month_b = a.day[i], b.day[j], a.month[i], b.month[j]
    year_a, year_b = a.year[i], b.year[j]
    same_day = (day_a == day_b) & (month_a == month_b) & (year_a == year_b)
    one_digit = (a.digits[i] != b.digits[j]).sum(axis=1) == 1
    day_month = (year_a == year_b) & (day_a == month_b) & (month_a == day_b)
    when = np.where(
        same_day,
        3,
        np.where(
            one_digit | day_month, 2, np.where((year_a == year_b) & (month_a == month_b), 1, 0)
        ),
    )
    when = np.where((day_a == 0) | (day_b == 0), -1, when).astype(np.int8)
    # Postcodes.
    code_a, code_b = a.postcode_id[i], b.postcode_id[j]
    near = (a.department_id[i] == b.department_id[j]) | (
        (a.commune_id[i] == b.commune_id[j]) & (a.commune_id[i] > 0)
    )
    place = np.where(code_a == code_b, 2, np.where(near, 1, 0))
    place = np.where((code_a == 0) | (code_b == 0), -1, place).astype(np.int8)
    return _Compared(np.stack([birth, first, when, place], axis=1), swapped)


def _patterns(compared: _Compared) -> tuple[np.ndarray, Counter[tuple[int, ...]]]:
    """Each pair's pattern as one integer (levels + 1 in base 5), and how many of each."""
    shifted = compared.levels.astype(np.int16) + 1
    codes = ((shifted[:, 0] * 5 + shifted[:, 1]) * 5 + shifted[:, 2]) * 5 + shifted[:, 3]
    counts = np.bincount(codes, minlength=625)
    found = Counter({_levels(c): int(n) for c, n in enumerate(counts.tolist()) if n})
    return codes, found


def _levels(code: int) -> tuple[int, ...]:
    out = []
    for _ in FIELDS:
        code, digit = divmod(code, 5)
        out.append(digit - 1)
    return tuple(reversed(out))


# -- 4. scoring ----------------------------------------------------------------------------------


def _measure_u(
    a: _Side, b: _Side, words_: _Words, rng: np.random.Generator
) -> dict[str, list[float]]:
    """How often each level happens between two people taken at random (almost never the
    same person), smoothed so that no level is impossible."""
    size = min(RANDOM_PAIRS, len(a) * len(b))
    i = rng.integers(0, len(a), size)
    j = rng.integers(0, len(b), size)
    levels = _compare(a, b, i, j, words_).levels
    u = {}
    for column, name in enumerate(FIELDS):
        present = levels[:, column][levels[:, column] >= 0]
        counts = np.bincount(present, minlength=LEVELS[name]).astype(float) + 1.0
        u[name] = (counts / counts.sum()).tolist()
    return u


def _same_day_patterns(
    a: _Side, b: _Side, words_: _Words, rng: random.Random
) -> Counter[tuple[int, ...]]:
    """The patterns of every pair born the same day, for a random sample of days (up to
    RANDOM_PAIRS pairs)."""
    days_a: dict[int, list[int]] = {}
    days_b: dict[int, list[int]] = {}
    for side, days in ((a, days_a), (b, days_b)):
        for i, day in enumerate(side.date_code.tolist()):
            if day:
                days.setdefault(day, []).append(i)
    shared = sorted(set(days_a) & set(days_b))
    rng.shuffle(shared)
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    budget = RANDOM_PAIRS
    for day in shared:
        la, rb = np.array(days_a[day]), np.array(days_b[day])
        left.append(np.repeat(la, len(rb)))
        right.append(np.tile(rb, len(la)))
        budget -= len(la) * len(rb)
        if budget <= 0:
            break
    if not left:
        return Counter()
    return _patterns(_compare(a, b, np.concatenate(left), np.concatenate(right), words_))[1]


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
    words_ = _Words()
    a, b = _Side(cma, words_), _Side(ml, words_)
    if not len(a) or not len(b):
        return Linkage([], Model({}, {}, 0.0), 0)
    candidates = _candidates(a, b)
    i, j = np.divmod(candidates, len(b))
    compared = _compare(a, b, i, j, words_)
    codes, patterns = _patterns(compared)
    rng = random.Random(seed)
    u = _measure_u(a, b, words_, np.random.default_rng(seed))
    model = _estimate(patterns, _same_day_patterns(a, b, words_, rng), u, len(a) * len(b))
    frequencies = _Frequencies(a, b, words_, model)
    table = np.zeros(625)
    most = np.zeros(625)
    for levels in patterns:
        code = _code(levels)
        table[code] = model.weight(levels)
        most[code] = frequencies.most(levels)
    floor = _weight_of(thresholds.review)
    # Only those that even the rarest names could lift to the review band are looked at again.
    hopeful = np.nonzero(table[codes] + most[codes] >= floor)[0]
    adjust = frequencies.adjust(a, b, i[hopeful], j[hopeful], compared.levels[hopeful])
    weight = table[codes[hopeful]] + adjust.sum(axis=1)
    kept = hopeful[weight >= floor]
    scored = _Scored(
        weight[weight >= floor],
        i[kept],
        j[kept],
        compared.levels[kept],
        compared.swapped[kept],
        adjust[weight >= floor],
    )
    confirmed = _confirmed(a, b, words_, model, frequencies, decisions)
    pairs = _one_to_one(a, b, model, scored, confirmed, decisions, thresholds)
    return Linkage(pairs, model, len(candidates))


def _code(levels: Sequence[int]) -> int:
    code = 0
    for level in levels:
        code = code * 5 + level + 1
    return code


@dataclass
class _Scored:
    """Pairs with their weight, as arrays."""

    weight: np.ndarray
    i: np.ndarray
    j: np.ndarray
    levels: np.ndarray
    swapped: np.ndarray
    adjust: np.ndarray  # (pairs, 2): birth name, first name


def _confirmed(
    a: _Side,
    b: _Side,
    words_: _Words,
    model: Model,
    frequencies: _Frequencies,
    decisions: Mapping[tuple[str, str], bool],
) -> _Scored:
    """The pairs people said are the same person, scored as any other (and kept whatever)."""
    index_a = {key: n for n, key in enumerate(a.keys)}
    index_b = {key: n for n, key in enumerate(b.keys)}
    same = [
        (index_a[x], index_b[y])
        for (x, y), yes in decisions.items()
        if yes and x in index_a and y in index_b
    ]
    i = np.array([x for x, _ in same], dtype=np.int64)
    j = np.array([y for _, y in same], dtype=np.int64)
    compared = _compare(a, b, i, j, words_)
    adjust = frequencies.adjust(a, b, i, j, compared.levels)
    weight = np.array([model.weight(tuple(lv)) for lv in compared.levels.tolist()])
    return _Scored(weight + adjust.sum(axis=1), i, j, compared.levels, compared.swapped, adjust)


class _Frequencies:
    """How common each birth name and usual first name is, on both lists together: agreeing on
    a rare name says more than agreeing on "Martin" (splink's term-frequency adjustment)."""

    def __init__(self, a: _Side, b: _Side, words_: _Words, model: Model):
        self.total = len(a) + len(b)
        size = len(words_.text)
        self.birth = np.bincount(a.birth_id, minlength=size) + np.bincount(
            b.birth_id, minlength=size
        )
        self.first = np.bincount(a.first_id, minlength=size) + np.bincount(
            b.first_id, minlength=size
        )
        self.u_birth = model.u["birth_name"][3]
        self.u_first = model.u["first_name"][3]

    def adjust(
        self, a: _Side, b: _Side, i: np.ndarray, j: np.ndarray, levels: np.ndarray
    ) -> np.ndarray:
        """What to add to the birth name's and first name's weights for exact agreement: the
        generic u replaced by the frequency of the very name."""
        out = np.zeros((len(i), 2))
        if not len(i):
            return out
        birth_share = np.maximum(self.birth[a.birth_id[i]], 1) / self.total
        out[:, 0] = np.where(levels[:, 0] == 3, np.log2(self.u_birth / birth_share), 0.0)
        usual = a.first_id[i]
        known = _among(usual, b.firsts[j])
        first_share = np.maximum(self.first[usual], 1) / self.total
        out[:, 1] = np.where((levels[:, 1] == 3) & known, np.log2(self.u_first / first_share), 0.0)
        return out

    def most(self, levels: Sequence[int]) -> float:
        """The largest adjustment any pair with these levels could get."""
        top = 0.0
        if levels[0] == 3:
            top += math.log2(self.u_birth * self.total)
        if levels[1] == 3:
            top += math.log2(self.u_first * self.total)
        return top


def _weight_of(probability: float) -> float:
    return math.log2(probability / (1 - probability))


def _one_to_one(
    a: _Side,
    b: _Side,
    model: Model,
    scored: _Scored,
    confirmed: _Scored,
    decisions: Mapping[tuple[str, str], bool],
    thresholds: Thresholds,
) -> list[Pair]:
    """Best first, each person once. People's confirmations go first; rejections never."""
    taken_a: set[int] = set()
    taken_b: set[int] = set()
    out = []
    # Each field's weight per level, worked out once (-1, missing, weighs nothing).
    weigh = {
        name: {level: model.contribution(name, level) for level in range(-1, LEVELS[name])}
        for name in FIELDS
    }
    order = np.lexsort((scored.j, scored.i, -scored.weight)).tolist()
    for decided, rows, sequence in (
        (True, confirmed, list(range(len(confirmed.i)))),
        (False, scored, order),
    ):
        # Python lists: a loop over numpy scalars is several times slower.
        row_i, row_j = rows.i.tolist(), rows.j.tolist()
        weights, all_levels = rows.weight.tolist(), rows.levels.tolist()
        swaps, adjusts = rows.swapped.tolist(), rows.adjust.tolist()
        for n in sequence:
            i, j = row_i[n], row_j[n]
            if i in taken_a or j in taken_b:
                continue
            if decisions and not decided and decisions.get((a.keys[i], b.keys[j])) is False:
                continue
            weight = weights[n]
            probability = 1.0 if decided else 1 / (1 + 2 ** (-weight))
            if probability >= thresholds.match:
                band = Band.MATCH
            elif probability >= thresholds.review:
                band = Band.REVIEW
            else:
                continue
            taken_a.add(i)
            taken_b.add(j)
            levels = tuple(all_levels[n])
            contributions = [weigh[f][lv] for f, lv in zip(FIELDS, levels, strict=True)]
            contributions[0] += adjusts[n][0]
            contributions[1] += adjusts[n][1]
            out.append(
                Pair(
                    a.keys[i],
                    b.keys[j],
                    probability,
                    weight,
                    band,
                    levels,
                    tuple(contributions),
                    swaps[n],
                    decided,
                )
            )
    return out
