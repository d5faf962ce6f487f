"""A person as either organisation's file describes them: what cross-matching compares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class Person:
    key: str  # the source's own identifier: the contract number, the Mission Locale's id
    birth_name: str
    first_names: str  # all of them, space separated, as the file gives them
    birth_date: date | None
    postcode: str | None = None
    commune: str | None = None
    sex: str | None = None
