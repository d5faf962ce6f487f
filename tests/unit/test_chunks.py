"""Cutting long lists into parts (`casework.chunks`)."""

from __future__ import annotations

import pytest

from casework.chunks import KEYS_PER_QUERY, chunks


def test_parts_hold_every_item_once_in_order_only_the_last_shorter() -> None:
    assert list(chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    assert list(chunks(list(range(6)), 3)) == [[0, 1, 2], [3, 4, 5]]
    assert list(chunks([], 3)) == []
    assert [len(p) for p in chunks(list(range(1001)))] == [KEYS_PER_QUERY, KEYS_PER_QUERY, 1]


def test_a_part_of_nothing_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        list(chunks([1], 0))
