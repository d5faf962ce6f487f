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
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from transitions import Machine, State

from casework.handlers.registry import Condition, Registry
from casework.states.definition import FieldDef, TransitionDef, WorkflowDef

if TYPE_CHECKING:
    from casework.engine.context import TransitionContext


class _Cursor:
    """What the machine sees of one row while one trigger runs."""

    __slots__ = ("state",)

    def __init__(self, state: str):
        self.state = state


# With `send_event=False`, transitions calls every guard and handler with the arguments given to
# the trigger: here the TransitionContext alone, so registered functions are used as they are.


def _remember(tdef: TransitionDef) -> Callable[[TransitionContext], None]:
    def taken(ctx: TransitionContext) -> None:
        ctx.transition = tdef

    return taken


@dataclass(frozen=True)
class Candidates:
    """What a trigger may do from one state, worked out once at load time."""

    transitions: tuple[TransitionDef, ...]
    actor_kinds: frozenset[str]  # who may fire at least one of them


class WorkflowMachine:
    def __init__(self, definition: WorkflowDef, registry: Registry):
        self.definition = definition
        self.parameters = definition.parameters
        self.machine = Machine(
            model=None,
            states=[State(s.name, final=s.final) for s in definition.states.values()],
            initial=definition.initial,
            auto_transitions=False,
            send_event=False,
            name=f"{definition.name}.v{definition.version} ",
        )
        for sdef in definition.states.values():
            state = self.machine.get_state(sdef.name)
            for name in sdef.on_exit:
                state.add_callback("exit", registry.handlers[name])
            for name in sdef.on_enter:
                state.add_callback("enter", registry.handlers[name])
        for tdef in definition.transitions:
            for source in tdef.sources:
                self.machine.add_transition(
                    tdef.trigger,
                    source,
                    tdef.dest,  # None makes an internal transition
                    conditions=[registry.guards[g] for g in tdef.guards],
                    unless=[registry.guards[g] for g in tdef.unless],
                    before=[_remember(tdef)],
                    after=[registry.handlers[h] for h in tdef.handlers],
                )
        # The conditions fields are declared with (`when:`), resolved once.
        self.conditions: dict[str, Condition] = {
            f.when: registry.conditions[f.when]
            for t in definition.transitions
            for f in t.fields
            if f.when is not None
        }
        self._allowed: dict[str, tuple[str, ...]] = {
            s: tuple(sorted(self.machine.get_triggers(s))) for s in definition.states
        }
        self._candidates: dict[tuple[str, str], Candidates] = {}
        for state in definition.states:
            for trigger in self._allowed[state]:
                found = tuple(
                    t for t in definition.transitions if t.trigger == trigger and state in t.sources
                )
                kinds = frozenset().union(*(t.by for t in found))
                self._candidates[(state, trigger)] = Candidates(found, kinds)

    def allowed_triggers(self, state: str) -> tuple[str, ...]:
        """Triggers declared from `state`, whatever their guards would say."""
        return self._allowed.get(state, ())

    def candidates(self, state: str, trigger: str) -> Candidates | None:
        """The transitions `trigger` may take from `state`; None if it is not allowed there."""
        return self._candidates.get((state, trigger))

    def applies(self, f: FieldDef, row: Any, now: datetime) -> bool:
        """Whether a field applies to this row now (a field without `when:` always does)."""
        return f.when is None or self.conditions[f.when].holds(row, now)

    def run(self, state: str, trigger: str, ctx: TransitionContext) -> str | None:
        """Run `trigger` from `state`; returns the new state, or None if every guard said no.

        The caller checks `candidates` first. Handlers run inside; whatever they raise propagates.
        """
        cursor = _Cursor(state)
        if not self.machine.events[trigger].trigger(cursor, ctx):
            return None
        return cursor.state

    def __repr__(self) -> str:
        return f"<WorkflowMachine {self.definition.name} v{self.definition.version}>"
