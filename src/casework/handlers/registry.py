"""Names used in workflow YAML (`guards:`, `unless:`, `handlers:`, `on_enter:`, `on_exit:`) mapped
to Python callables.

Every name is resolved when the workflows are loaded; an unknown name fails the load (with file
and line). Nothing is ever imported from a string found in a YAML file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from casework.engine.context import TransitionContext

Guard = Callable[["TransitionContext"], bool]
Handler = Callable[["TransitionContext"], None]


class Registry:
    def __init__(self) -> None:
        self.guards: dict[str, Guard] = {}
        self.handlers: dict[str, Handler] = {}

    def guard(self, fn: Guard) -> Guard:
        """Register a guard under its function name."""
        self._add(self.guards, fn.__name__, fn)
        return fn

    def handler(self, fn: Handler) -> Handler:
        """Register a handler under its function name."""
        self._add(self.handlers, fn.__name__, fn)
        return fn

    def copy(self) -> Registry:
        other = Registry()
        other.guards, other.handlers = dict(self.guards), dict(self.handlers)
        return other

    @staticmethod
    def _add(table: dict[str, Callable[..., object]], name: str, fn: Callable[..., object]) -> None:
        if name in table and table[name] is not fn:
            raise ValueError(f"{name!r} is registered twice")
        table[name] = fn


# The registry the bundled workflows use; `casework.handlers` fills it on import.
registry = Registry()
