"""Long lists cut into parts of a bounded size: keys per `IN (...)` list, rows per statement,
messages per IMAP fetch, people per block of a draw.

Guarantees: the parts come in order and hold every item exactly once, each part at most `size`
long and only the last one shorter; an empty list gives no part. `KEYS_PER_QUERY` is the one
bound for `IN` lists, far below SQLite's limit on bound parameters.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")

KEYS_PER_QUERY = 500  # values per IN (...) list


def chunks(items: Sequence[T], size: int = KEYS_PER_QUERY) -> Iterator[Sequence[T]]:
    """`items` in consecutive parts of `size` (slices: a list gives lists)."""
    if size < 1:
        raise ValueError(f"a part holds at least one item, not {size}")
    for start in range(0, len(items), size):
        yield items[start : start + size]
