"""Who did something: recorded on every event."""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field

from casework.models.base import ActorKind


@dataclass(frozen=True)
class Actor:
    kind: ActorKind
    id: str
    # The kind as a plain string, read once per transition on the hot path (an enum's `.value`
    # is a descriptor call).
    kind_value: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind_value", ActorKind(self.kind).value)

    @classmethod
    def person(cls, login: str) -> Actor:
        return cls(ActorKind.PERSON, login)

    @classmethod
    def partner(cls, address: str) -> Actor:
        return cls(ActorKind.PARTNER, address)

    @classmethod
    def timer(cls, name: str = "timer") -> Actor:
        return cls(ActorKind.TIMER, name)

    @classmethod
    def importer(cls, source: str) -> Actor:
        return cls(ActorKind.IMPORT, source)

    @classmethod
    def system(cls, name: str = "casework") -> Actor:
        return cls(ActorKind.SYSTEM, name)

    @classmethod
    def current_user(cls) -> Actor:
        """The person at the terminal, for the CLI."""
        return cls.person(getpass.getuser())

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"
