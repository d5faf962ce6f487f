"""Cross-matching the chamber's contracts with the Mission Locale's caseload (record linkage).

The steps, each in its own function:

1. **Normalise** both lists together (`_sides`): names folded (`casework.names`: accents, case,
   hyphens, apostrophes), a birth name also without its particle ("de la Fontaine" →
   "fontaine"), every first name and every run of first names ("JEAN PIERRE" can be
   "Jean-Pierre"), the birth date as digits, the postcode and its département.
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
   never proposed again. Two rules over the bands: a pair that agrees exactly on the birth
   name, a first name and the birth date is a match however common the name (the frequency
   adjustment must not send it to review), unless another pair of one of its people agrees as
   exactly (namesakes born the same day: a person decides); and a pair where one side lacks a
   name, a first name or a birth date (an incomplete record) is at best to review.

Incomplete records are compared on what they have (a missing field weighs nothing either way)
and blocked by the rules their fields allow, plus, for a record without a birth date, its
birth name or usual first name with its postcode.

Every pair kept is explained field by field (`Pair.explain`), in French.

Speed (a million a side in about 20 s, `bench/match.py`): every step works on numpy arrays of
integers, Python touching each distinct name once, not each person; loops over people are C-level
(`map`, `dict.fromkeys`); the cyclic garbage collector is paused while linking.
"""

from __future__ import annotations

import copy
import gc
import itertools
import math
import random
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from itertools import chain
from operator import attrgetter
from typing import Any, NamedTuple

import numpy as np
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from casework.french import decimal
from casework.intake.records import Person
from casework.names import name_key, words_all

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
# "absent", "absente": what is said of a field agrees with it.
MISSING = {name: "absente d'un côté" if name == "birth_date" else "absent d'un côté"
           for name in FIELDS}  # fmt: skip
IDENTITY = 3  # the first three fields: a pair lacking one of them is at best to review
CLOSE, SIMILAR = 0.92, 0.80
PARTICLES = frozenset({"le", "la", "de", "du", "des", "d", "l", "van", "von", "der", "den"})
RANDOM_PAIRS = 100_000  # sampled to measure u, and to estimate m on the same day
EM_ROUNDS = 50


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


class Pair(NamedTuple):
    """A pair kept: a tuple (a million of them are made in seconds, not minutes)."""

    cma: str
    ml: str
    probability: float
    weight: float
    band: Band
    levels: tuple[int, ...]  # per field of FIELDS, -1 missing
    contributions: tuple[float, ...]  # log2(m/u) per field
    swapped: bool = False  # first and last names swapped between the files
    decided: bool = False  # a person's earlier decision
    exact: bool = False  # birth name, first name and birth date identical, no namesake

    def explain(self) -> list[str]:
        """One line per field, in French: what agreed, and how much it weighed."""
        lines = []
        for name, level, weight in zip(FIELDS, self.levels, self.contributions, strict=True):
            label = MISSING[name] if level < 0 else LABELS[name][level]
            lines.append(f"{FIELD_LABELS[name]} : {label} ({decimal(weight, signed=True)})")
        if self.swapped:
            lines.append("nom et prénom inversés entre les deux fichiers")
        if self.decided:
            lines.append("décision d'une personne lors d'un passage précédent")
        elif self.exact:
            lines.append(
                "nom, prénom et date de naissance identiques, sans homonyme né le même jour"
            )
        elif self.band == Band.REVIEW and min(self.levels[:IDENTITY]) < 0:
            lines.append(
                "il manque d'un côté le nom, le prénom ou la date de naissance : une personne "
                "vérifie"
            )
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
#
# Two million people have a few hundred thousand distinct names, some thousands of birth dates
# and some tens of thousands of places: each distinct value is worked out once (in Python), then
# spread to its people with numpy. Both lists are normalised together, so a name on both is
# worked out once too. The loops over people are C-level (`map`, `dict.fromkeys`, `np.fromiter`).

FIRST_KEYS = 6  # first names and runs of them kept per person (more are very rare)
PREFIXES = 65_536  # room for every prefix of up to three letters of a folded name


class _Numbering:
    """Texts numbered in order of first appearance, from `start`."""

    def __init__(self, start: Sequence[str] = ()) -> None:
        self.text: list[str] = list(start)
        self.number: dict[str, int] = {t: n for n, t in enumerate(self.text)}

    def of(self, texts: list[str], dtype: Any = np.int32) -> np.ndarray:
        """Each text's number (new texts numbered as they come)."""
        fresh = [t for t in dict.fromkeys(texts) if t not in self.number]
        self.number.update(
            zip(fresh, range(len(self.text), len(self.text) + len(fresh)), strict=True)
        )
        self.text.extend(fresh)
        return np.fromiter(map(self.number.__getitem__, texts), dtype=dtype, count=len(texts))


class _Words:
    """One numbering of every name key of both lists (0: none), so that names compare as
    integers and each distinct pair of names is measured once; and one of name prefixes (folded
    names are letters and digits only: at most 37³ prefixes of up to three), for blocking."""

    def __init__(self) -> None:
        self.names = _Numbering([""])
        self.prefixes = _Numbering()
        self._array = np.empty(0, dtype=object)

    @property
    def text(self) -> list[str]:
        return self.names.text

    def array(self) -> np.ndarray:
        """The name keys as a numpy array (of str objects): picked by id in C."""
        if len(self._array) != len(self.text):
            self._array = np.array(self.text, dtype=object)
        return self._array

    def ids(self, texts: list[str]) -> np.ndarray:
        return self.names.of(texts)

    def prefix_ids(self, texts: list[str]) -> np.ndarray:
        found = self.prefixes.of(texts, np.int64)
        assert len(self.prefixes.text) <= PREFIXES
        return found


def _factorize(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Each value's number among the distinct values, and those values in order of first
    appearance. One pass over the dictionary (`setdefault` with each value's position: the
    position of its first appearance comes back), then numpy makes the numbers dense."""
    index: dict[Any, int] = {}
    first = np.array(list(map(index.setdefault, values, itertools.count())), dtype=np.int64)
    dense = np.empty(len(values), dtype=np.int64)
    dense[np.fromiter(index.values(), np.int64, count=len(index))] = np.arange(len(index))
    return dense[first], list(index)


class _Side:
    """A list of people normalised into integer arrays, one row per person."""

    def __init__(self, people: Sequence[Person], words_: _Words):
        self.keys = list(map(attrgetter("key"), people))
        # Birth names: run together, without particles, and their first letters.
        at, names = _factorize(list(map(attrgetter("birth_name"), people)))
        whole, bare = _birth_keys(names)
        ids = words_.ids(whole)
        self.birth_id = ids[at]
        ids[list(bare)] = words_.ids(list(bare.values()))
        self.bare_id = ids[at]
        self.birth2 = words_.prefix_ids([w[:2] for w in whole])[at]
        self.birth3 = words_.prefix_ids([w[:3] for w in whole])[at]
        # First names: the usual one, and every first name and run of them (-1 padded).
        at, names = _factorize(list(map(attrgetter("first_names"), people)))
        usual, runs, counts = _first_keys(names)
        self.first_id = words_.ids(usual)[at]
        self.first2 = words_.prefix_ids([u[:2] for u in usual])[at]
        table = np.full((len(names), FIRST_KEYS), -1, dtype=np.int32)
        per_name = np.array(counts, dtype=np.int64)
        row = np.repeat(np.arange(len(names)), per_name)
        column = np.arange(len(runs)) - np.repeat(np.cumsum(per_name) - per_name, per_name)
        table[row, column] = words_.ids(runs)
        self.firsts = table[at]
        # Birth dates: day, month, year (0: none), as one number, and as eight digits.
        at, dates = _factorize(list(map(attrgetter("birth_date"), people)))
        self.day = np.array([d.day if d else 0 for d in dates], dtype=np.int16)[at]
        self.month = np.array([d.month if d else 0 for d in dates], dtype=np.int16)[at]
        self.year = np.array([d.year if d else 0 for d in dates], dtype=np.int16)[at]
        self.date_code = self.year.astype(np.int64) * 10_000 + self.month * 100 + self.day
        d, m, y = self.day, self.month, self.year
        self.digits = np.stack(
            [d // 10, d % 10, m // 10, m % 10, y // 1000, y // 100 % 10, y // 10 % 10, y % 10],
            axis=1,
        ).astype(np.uint8)
        # Places: the postcode, its département, the commune.
        at, places = _factorize(
            list(
                zip(
                    map(attrgetter("postcode"), people),
                    map(attrgetter("commune"), people),
                    strict=True,
                )
            )
        )
        codes = [(code or "").strip() for code, _ in places]
        self.postcode_id = words_.ids([f"cp:{c}" if c else "" for c in codes])[at]
        self.department_id = words_.ids([f"dep:{c[:2]}" if c else "" for c in codes])[at]
        self.commune_id = words_.ids([f"commune:{name_key(c)}" if c else "" for _, c in places])[at]

    def __len__(self) -> int:
        return len(self.keys)

    def split(self, at: int) -> tuple[_Side, _Side]:
        """The first `at` people, and the others (numpy views: nothing copied)."""
        head, tail = copy.copy(self), copy.copy(self)
        for name, value in vars(self).items():
            setattr(head, name, value[:at])
            setattr(tail, name, value[at:])
        return head, tail


def _sides(cma: Sequence[Person], ml: Sequence[Person], words_: _Words) -> tuple[_Side, _Side]:
    """Both lists normalised together: a name found on both is worked out once."""
    return _Side([*cma, *ml], words_).split(len(cma))


def _birth_keys(names: list[str]) -> tuple[list[str], dict[int, str]]:
    """Each birth name run together; and, for the few with leading particles, by their
    position, the same without them."""
    found = words_all(names)
    bare = {}
    for n in [n for n, w in enumerate(found) if len(w) > 1 and w[0] in PARTICLES]:
        rest = found[n]
        while len(rest) > 1 and rest[0] in PARTICLES:
            rest = rest[1:]
        bare[n] = "".join(rest)
    return list(map("".join, found)), bare


def _first_keys(names: list[str]) -> tuple[list[str], list[str], list[int]]:
    """For each of `names`: the usual first name, every first name and run of first names
    ("JEAN PIERRE" can be "Jean-Pierre"; at most FIRST_KEYS of them, all in one list), and how
    many. First names repeat ("Marie" in a thousand combinations): each is folded once."""
    tokens = list(map(str.split, names))
    distinct = list(dict.fromkeys(chain.from_iterable(tokens)))
    folded = dict(zip(distinct, map(tuple, words_all(distinct)), strict=True))
    usual, runs, counts = [], [], []
    for given in tokens:
        parts = [found for found in map(folded.__getitem__, given) if found]
        if len(parts) == 1 and len(parts[0]) == 1:  # one plain first name: nothing to combine
            usual.append(parts[0][0])
            runs.append(parts[0][0])
            counts.append(1)
            continue
        flat = [w for part in parts for w in part]
        # The first names as written, then single words, then runs of two and three: when
        # there are more than FIRST_KEYS, the longest runs are the ones left out.
        found = dict.fromkeys("".join(part) for part in parts)
        for size in (1, 2, 3):
            found.update(
                dict.fromkeys("".join(flat[i : i + size]) for i in range(len(flat) - size + 1))
            )
        kept = list(found)[:FIRST_KEYS]
        usual.append("".join(parts[0]) if parts else "")
        runs.extend(kept)
        counts.append(len(kept))
    return usual, runs, counts


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


def _undated_keys(side: _Side) -> tuple[list[np.ndarray], np.ndarray]:
    """For records without a birth date, which the date's rules cannot block: the birth name
    with the postcode, and the usual first name with the postcode (-1 for the others)."""
    undated = side.date_code == 0
    ids = np.int64(2**31)
    place = side.postcode_id.astype(np.int64)
    return [
        np.where((side.birth_id > 0) & (place > 0), side.birth_id * ids + place, -1),
        np.where((side.first_id > 0) & (place > 0), side.first_id * ids + place, -1),
    ], undated


def _candidates(a: _Side, b: _Side) -> np.ndarray:
    """Pairs (as a * len(b) + b) that share a key of some rule, once each. The rules run on
    both cores (numpy lets go of the interpreter while it sorts and searches)."""
    rules = list(zip(_blocking_keys(a), _blocking_keys(b), strict=True))
    # Records without a birth date meet everyone of the other side on their names and place:
    # only they are keyed on one side, so complete lists add nothing.
    (keys_a, undated_a), (keys_b, undated_b) = _undated_keys(a), _undated_keys(b)
    for key_a, key_b in zip(keys_a, keys_b, strict=True):
        if undated_a.any():
            rules.append((np.where(undated_a, key_a, -1), key_b))
        if undated_b.any():
            rules.append((key_a, np.where(undated_b, key_b, -1)))
    with ThreadPoolExecutor(2) as pool:
        chunks = list(pool.map(lambda keys: _sharing(*keys, len(b)), rules))
    return _distinct(np.concatenate(chunks))[0]


def _sharing(keys_a: np.ndarray, keys_b: np.ndarray, size_b: int) -> np.ndarray:
    """The pairs with the same key (-1: none), with numpy: both sides sorted by key, each of
    `a`'s people repeated once per person of `b` with the same key."""
    order_b = np.argsort(keys_b)
    sorted_b = keys_b[order_b]
    valid_a = np.nonzero(keys_a >= 0)[0]
    order_a = valid_a[np.argsort(keys_a[valid_a])]  # sorted: the searches run in order
    wanted = keys_a[order_a]
    start = np.searchsorted(sorted_b, wanted, side="left")
    count = np.searchsorted(sorted_b, wanted, side="right") - start
    has = count > 0
    left, start, count = order_a[has], start[has], count[has]
    total = int(count.sum())
    first_of = np.repeat(np.cumsum(count) - count, count)
    offsets = np.arange(total, dtype=np.int64) - first_of
    right = order_b[np.repeat(start, count) + offsets]
    return np.repeat(left.astype(np.int64), count) * size_b + right


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values, sorted, and where each value is among them (np.unique hashes
    integers, several times slower than this sort)."""
    order = np.argsort(values)
    ordered = values[order]
    new = np.empty(len(values), dtype=bool)
    new[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    back = np.empty(len(values), dtype=np.int64)
    back[order] = np.cumsum(new) - 1
    return ordered[new], back


# -- 3. comparing --------------------------------------------------------------------------------
#
# Pairs are compared all at once, as arrays: equality on integer ids, Jaro-Winkler (rapidfuzz's
# `cpdist`, in C, on both cores) once per distinct pair of names.


@dataclass
class _Compared:
    levels: np.ndarray  # (pairs, 4) int8, -1 missing
    swapped: np.ndarray  # (pairs,) bool


def _similarity(words_: _Words, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Jaro-Winkler of each pair of word ids, measured once per distinct pair of different
    words (the same word is 1, and most candidates share their names)."""
    out = (x == y).astype(np.float32)
    differ = np.nonzero((x != y) & (x > 0) & (y > 0))[0]
    if not len(differ):
        return out
    width = np.int64(len(words_.text))
    codes = x[differ].astype(np.int64) * width + y[differ]
    distinct, back = _distinct(codes)
    text = words_.array()
    scores = cpdist(
        text[distinct // width],
        text[distinct % width],
        scorer=JaroWinkler.normalized_similarity,
        workers=-1,
        dtype=np.float32,
    )
    out[differ] = scores[back]
    return out


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
        # Swapping can only do better where the other name could make up the difference.
        hope = sb.astype(np.int16) + 3 > birth[maybe].astype(np.int16) + first[maybe]
        maybe, sb = maybe[hope], sb[hope]
        sf = _graded(
            _among(birth_b[maybe], firsts_a[maybe]),
            _similarity(words_, birth_b[maybe], first_a[maybe]),
            np.zeros(len(maybe), dtype=bool),
        )
        better = sb.astype(np.int16) + sf > birth[maybe].astype(np.int16) + first[maybe]
        chosen = maybe[better]
        birth[chosen], first[chosen], swapped[chosen] = sb[better], sf[better], True
    when, place = _dates_and_places(a, b, i, j)
    return _Compared(np.stack([birth, first, when, place], axis=1), swapped)


def _dates_and_places(
    a: _Side, b: _Side, i: np.ndarray, j: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's birth date and postcode levels."""
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
    return when, place


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
    words_ = _Words()
    a, b = _sides(cma, ml, words_)
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
    exact = (compared.levels[:, :IDENTITY] == 3).all(axis=1)
    # Only those that even the rarest names could lift to the review band are looked at again
    # (and those that agree exactly on the person's identity, kept whatever their weight).
    hopeful = np.nonzero((table[codes] + most[codes] >= floor) | exact)[0]
    adjust = frequencies.adjust(a, b, i[hopeful], j[hopeful], compared.levels[hopeful])
    weight = table[codes[hopeful]] + adjust.sum(axis=1)
    keep = (weight >= floor) | exact[hopeful]
    kept = hopeful[keep]
    scored = _Scored(
        weight[keep],
        i[kept],
        j[kept],
        compared.levels[kept],
        compared.swapped[kept],
        adjust[keep],
        _unique_exact(i[kept], j[kept], exact[kept], len(a), len(b)),
    )
    confirmed = _confirmed(a, b, words_, model, frequencies, decisions)
    pairs = _one_to_one(a, b, model, scored, confirmed, decisions, thresholds)
    return Linkage(pairs, model, len(candidates))


def _unique_exact(
    i: np.ndarray, j: np.ndarray, exact: np.ndarray, size_a: int, size_b: int
) -> np.ndarray:
    """The pairs that agree exactly on birth name, first name and birth date, and whose two
    people have no other such pair (namesakes born the same day are for a person to tell)."""
    per_a = np.bincount(i[exact], minlength=size_a)
    per_b = np.bincount(j[exact], minlength=size_b)
    return exact & (per_a[i] == 1) & (per_b[j] == 1)


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
    exact: np.ndarray  # identity identical, no namesake: a match whatever its weight


def _confirmed(
    a: _Side,
    b: _Side,
    words_: _Words,
    model: Model,
    frequencies: _Frequencies,
    decisions: Mapping[tuple[str, str], bool],
) -> _Scored:
    """The pairs people said are the same person, scored as any other (and kept whatever)."""
    if not any(decisions.values()):
        return _Scored(
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
    compared = _compare(a, b, i, j, words_)
    adjust = frequencies.adjust(a, b, i, j, compared.levels)
    weight = np.array([model.weight(tuple(lv)) for lv in compared.levels.tolist()])
    return _Scored(
        weight + adjust.sum(axis=1),
        i,
        j,
        compared.levels,
        compared.swapped,
        adjust,
        np.zeros(len(i), dtype=bool),  # a person's decision says more
    )


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
    """Best first, each person once. People's confirmations go first, then exact agreements on
    identity; rejections never."""
    taken_a = np.zeros(len(a), dtype=bool)
    taken_b = np.zeros(len(b), dtype=bool)
    first = _greedy(confirmed.i, confirmed.j, taken_a, taken_b)
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
    then = order[_greedy(scored.i[order], scored.j[order], taken_a, taken_b)]
    # Each field's weight per level (column: level + 1; -1, missing, weighs nothing).
    weigh = np.array(
        [
            [
                model.contribution(name, level) if level < LEVELS[name] else 0.0
                for level in range(-1, 4)
            ]
            for name in FIELDS
        ]
    )
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


GREEDY_ROUNDS = 50  # then the few rows left go one by one


def _greedy(i: np.ndarray, j: np.ndarray, taken_a: np.ndarray, taken_b: np.ndarray) -> np.ndarray:
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
