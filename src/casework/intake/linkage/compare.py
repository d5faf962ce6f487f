"""Step 3 of cross-matching, comparing: each candidate pair, field by field, into levels.

Guarantees: birth name and first name are identical / close (Jaro-Winkler ≥ 0.92) / similar
(≥ 0.80) / different, in the orientation that fits best, swapped names included; birth date
identical / one digit off or day and month swapped / same month and year / different; postcode
identical / same département or commune / different; a missing value is -1 and says nothing.

Pairs are compared all at once, as arrays: equality on integer ids, Jaro-Winkler (rapidfuzz's
`cpdist`, in C, on both cores) once per distinct pair of names.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import JaroWinkler
from rapidfuzz.process import cpdist

from casework.intake.linkage.block import distinct_sorted
from casework.intake.linkage.model import FIELDS
from casework.intake.linkage.normalise import FIRST_KEYS, Side, Words

CLOSE, SIMILAR = 0.92, 0.80


@dataclass
class Compared:
    levels: np.ndarray  # (pairs, 4) int8, -1 missing
    swapped: np.ndarray  # (pairs,) bool


def _similarity(words_: Words, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Jaro-Winkler of each pair of word ids, measured once per distinct pair of different
    words (the same word is 1, and most candidates share their names)."""
    out = (x == y).astype(np.float32)
    differ = np.nonzero((x != y) & (x > 0) & (y > 0))[0]
    if not len(differ):
        return out
    width = np.int64(len(words_.text))
    codes = x[differ].astype(np.int64) * width + y[differ]
    distinct, back = distinct_sorted(codes)
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


def among(word: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Whether each pair's `word` is one of its `firsts` (a row of ids, -1 padded)."""
    return (firsts == word[:, None]).any(axis=1) & (word > 0)


def compare_pairs(a: Side, b: Side, i: np.ndarray, j: np.ndarray, words_: Words) -> Compared:
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
            among(birth_a[maybe], firsts_b[maybe]),
            _similarity(words_, birth_a[maybe], first_b[maybe]),
            np.zeros(len(maybe), dtype=bool),
        )
        # Swapping can only do better where the other name could make up the difference.
        hope = sb.astype(np.int16) + 3 > birth[maybe].astype(np.int16) + first[maybe]
        maybe, sb = maybe[hope], sb[hope]
        sf = _graded(
            among(birth_b[maybe], firsts_a[maybe]),
            _similarity(words_, birth_b[maybe], first_a[maybe]),
            np.zeros(len(maybe), dtype=bool),
        )
        better = sb.astype(np.int16) + sf > birth[maybe].astype(np.int16) + first[maybe]
        chosen = maybe[better]
        birth[chosen], first[chosen], swapped[chosen] = sb[better], sf[better], True
    when, place = _dates_and_places(a, b, i, j)
    return Compared(np.stack([birth, first, when, place], axis=1), swapped)


def _dates_and_places(
    a: Side, b: Side, i: np.ndarray, j: np.ndarray
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


def count_patterns(compared: Compared) -> tuple[np.ndarray, Counter[tuple[int, ...]]]:
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


def pattern_code(levels: Sequence[int]) -> int:
    code = 0
    for level in levels:
        code = code * 5 + level + 1
    return code
