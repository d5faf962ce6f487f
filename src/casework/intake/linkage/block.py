"""Step 2 of cross-matching, blocking: only pairs that share a blocking key are compared.

Guarantees: a pair meets if it shares the birth date with the usual first name, or with the
birth name's first three letters (a typo in one name still meets), or with both names'
initials in either order (swapped first and last names meet), or both names in either order (a
typo or a day/month swap in the date still meets); a record without a birth date meets on its
birth name or usual first name with its postcode. Each candidate pair comes once, as
`a * len(b) + b`. Pairs are built with numpy, from each side sorted by key, on both cores.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from casework.intake.linkage.normalise import PREFIXES, Side


def _blocking_keys(side: Side) -> list[np.ndarray]:
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


def _undated_keys(side: Side) -> tuple[list[np.ndarray], np.ndarray]:
    """For records without a birth date, which the date's rules cannot block: the birth name
    with the postcode, and the usual first name with the postcode (-1 for the others)."""
    undated = side.date_code == 0
    ids = np.int64(2**31)
    place = side.postcode_id.astype(np.int64)
    return [
        np.where((side.birth_id > 0) & (place > 0), side.birth_id * ids + place, -1),
        np.where((side.first_id > 0) & (place > 0), side.first_id * ids + place, -1),
    ], undated


def candidate_pairs(a: Side, b: Side) -> np.ndarray:
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
    return distinct_sorted(np.concatenate(chunks))[0]


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


def distinct_sorted(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
