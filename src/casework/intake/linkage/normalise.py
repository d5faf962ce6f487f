"""Step 1 of cross-matching, normalising: both lists of people into integer arrays, one row per
person.

Guarantees: names folded (`casework.names`: accents, case, hyphens, apostrophes), a birth name
also without its particle ("de la Fontaine" → "fontaine"), every first name and every run of
first names ("JEAN PIERRE" can be "Jean-Pierre"), the birth date as digits, the postcode and
its département; a missing value is 0 (or -1 where 0 is a value). Both lists share one
numbering of names, so the same name is the same integer on both sides.

Speed: two million people have a few hundred thousand distinct names, some thousands of birth
dates and some tens of thousands of places: each distinct value is worked out once (in Python),
then spread to its people with numpy. The loops over people are C-level (`map`,
`dict.fromkeys`, `np.fromiter`).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Sequence
from itertools import chain
from operator import attrgetter
from typing import Any

import numpy as np

from casework.intake.records import Person
from casework.names import name_key, words_all

PARTICLES = frozenset({"le", "la", "de", "du", "des", "d", "l", "van", "von", "der", "den"})
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


class Words:
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


class Side:
    """A list of people normalised into integer arrays, one row per person."""

    def __init__(self, people: Sequence[Person], words_: Words):
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

    def split(self, at: int) -> tuple[Side, Side]:
        """The first `at` people, and the others (numpy views: nothing copied)."""
        head, tail = copy.copy(self), copy.copy(self)
        for name, value in vars(self).items():
            setattr(head, name, value[:at])
            setattr(tail, name, value[at:])
        return head, tail


def sides(cma: Sequence[Person], ml: Sequence[Person], words_: Words) -> tuple[Side, Side]:
    """Both lists normalised together: a name found on both is worked out once."""
    return Side([*cma, *ml], words_).split(len(cma))


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
