"""One `transitions` Machine per workflow definition, applied to any number of rows.

No model is ever attached to the machine: each call hands it a throw-away cursor holding the
row's state, so the machine is shared by every case and every thread without growing.

Order of callbacks when a transition is taken (the `transitions` order):
guards (`guards`, then `unless`) → the state's `on_exit` handlers → state set →
the destination's `on_enter` handlers → the transition's `handlers`.
Internal transitions (no `dest`) exit and enter nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from transitions import EventData, Machine, State

from casework.handlers.registry import Registry
from casework.states.definition import TransitionDef, WorkflowDef

if TYPE_CHECKING:
    from casework.engine.context import TransitionContext


class _Cursor:
    """What the machine sees of one row while one trigger runs."""

    __slots__ = ("state",)

    def __init__(self, state: str):
        self.state = state


def _ctx(event: EventData) -> TransitionContext:
    return event.args[0]  # type: ignore[no-any-return]


def _as_condition(fn: Callable[[TransitionContext], bool]) -> Callable[[EventData], bool]:
    return lambda event: bool(fn(_ctx(event)))


def _as_callback(fn: Callable[[TransitionContext], None]) -> Callable[[EventData], None]:
    return lambda event: fn(_ctx(event))


def _remember(tdef: TransitionDef) -> Callable[[EventData], None]:
    def taken(event: EventData) -> None:
        _ctx(event).transition = tdef

    return taken


class WorkflowMachine:
    def __init__(self, definition: WorkflowDef, registry: Registry):
        self.definition = definition
        self.machine = Machine(
            model=None,
            states=[State(s.name, final=s.final) for s in definition.states.values()],
            initial=definition.initial,
            auto_transitions=False,
            send_event=True,
            name=f"{definition.name}.v{definition.version} ",
        )
        for sdef in definition.states.values():
            state = self.machine.get_state(sdef.name)
            for name in sdef.on_exit:
                state.add_callback("exit", _as_callback(registry.handlers[name]))
            for name in sdef.on_enter:
                state.add_callback("enter", _as_callback(registry.handlers[name]))
        for tdef in definition.transitions:
            for source in tdef.sources:
                self.machine.add_transition(
                    tdef.trigger,
                    source,
                    tdef.dest,  # None makes an internal transition
                    conditions=[_as_condition(registry.guards[g]) for g in tdef.guards],
                    unless=[_as_condition(registry.guards[g]) for g in tdef.unless],
                    before=[_remember(tdef)],
                    after=[_as_callback(registry.handlers[h]) for h in tdef.handlers],
                )
        self._allowed: dict[str, tuple[str, ...]] = {
            s: tuple(sorted(self.machine.get_triggers(s))) for s in definition.states
        }

    def allowed_triggers(self, state: str) -> tuple[str, ...]:
        """Triggers declared from `state`, whatever their guards would say."""
        return self._allowed.get(state, ())

    def is_allowed(self, state: str, trigger: str) -> bool:
        return trigger in self._allowed.get(state, ())

    def run(self, state: str, trigger: str, ctx: TransitionContext) -> str | None:
        """Run `trigger` from `state`; returns the new state, or None if every guard said no.

        The caller checks `is_allowed` first. Handlers run inside; whatever they raise propagates.
        """
        cursor = _Cursor(state)
        if not self.machine.events[trigger].trigger(cursor, ctx):
            return None
        return cursor.state

    def __repr__(self) -> str:
        return f"<WorkflowMachine {self.definition.name} v{self.definition.version}>"
