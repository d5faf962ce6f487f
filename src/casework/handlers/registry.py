"""Names used in workflow YAML (`guards:`, `unless:`, `handlers:`, `on_enter:`, `on_exit:`, a
field's `when:`) mapped to Python callables.

Every name is resolved when the workflows are loaded; an unknown name fails the load (with file
and line). Nothing is ever imported from a string found in a YAML file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from casework.engine.context import TransitionContext

Guard = Callable[["TransitionContext"], bool]
Handler = Callable[["TransitionContext"], None]
# A condition reads the row as guards see it (`ctx.row`) at a time: (row, now) -> bool.
Predicate = Callable[[Any, datetime], bool]


@dataclass(frozen=True)
class Condition:
    """When a field applies (`when: beneficiary.minor`): a named predicate of the row, for the
    rows of one kind of entity, with what it means in French ("l'apprenti(e) est mineur(e)")
    for the message refusing a value given for a field that does not apply."""

    name: str
    entity: str
    says: str
    holds: Predicate


class Registry:
    def __init__(self, code_requirements: bool = False) -> None:
        self.guards: dict[str, Guard] = {}
        self.handlers: dict[str, Handler] = {}
        self.conditions: dict[str, Condition] = {}
        # Whether workflows checked with this registry must also hold the names casework's
        # own code relies on (`casework.states.requirements`): the bundled registry does; one
        # a test builds for its own small workflow does not.
        self.code_requirements = code_requirements

    def guard(self, fn: Guard) -> Guard:
        """Register a guard under its function name."""
        self._add(self.guards, fn.__name__, fn)
        return fn

    def handler(self, fn: Handler) -> Handler:
        """Register a handler under its function name."""
        self._add(self.handlers, fn.__name__, fn)
        return fn

    def condition(self, name: str, entity: str, says: str) -> Callable[[Predicate], Predicate]:
        """Register a predicate as the condition `name` (a dotted name such as
        "beneficiary.minor": conditions read as a row's values, not as function names)."""

        def register(fn: Predicate) -> Predicate:
            found = self.conditions.get(name)
            if found is not None and found.holds is not fn:
                raise ValueError(f"condition {name!r} is registered twice")
            self.conditions[name] = Condition(name, entity, says, fn)
            return fn

        return register

    def copy(self) -> Registry:
        other = Registry(self.code_requirements)
        other.guards, other.handlers = dict(self.guards), dict(self.handlers)
        other.conditions = dict(self.conditions)
        return other

    @staticmethod
    def _add(table: dict[str, Callable[..., object]], name: str, fn: Callable[..., object]) -> None:
        if name in table and table[name] is not fn:
            raise ValueError(f"{name!r} is registered twice")
        table[name] = fn


# The registry the bundled workflows use; `casework.handlers` fills it on import.
registry = Registry(code_requirements=True)
