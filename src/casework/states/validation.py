"""Checks on a workflow definition: each returns problems, never raises.

Run at start-up (a problem refuses to load) and by `casework workflows check`.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from pathlib import Path

import jinja2

from casework.errors import Problem
from casework.handlers.registry import Registry
from casework.notify.templates import MAIL_PARTS, mail_environment, template_path
from casework.states.definition import (
    LINK_ACTORS,
    NO_CONTACT_TAG,
    RECIPIENTS,
    TIMER_ANCHORS,
    TIMER_COUNTS,
    FieldDef,
    TimerDef,
    WorkflowDef,
)
from casework.states.requirements import check_requirements
from casework.states.rules import check_rules


def validate(wf: WorkflowDef, registry: Registry, templates_dir: Path) -> list[Problem]:
    problems: list[Problem] = []
    for check in (
        _names_resolve,
        _timers,
        _reachability,
        _ways_out,
        _trigger_consistency,
        _no_contact_states,
        _mail_links,
        _field_conditions,
    ):
        problems.extend(check(wf, registry))
    problems.extend(_templates(wf, templates_dir))
    problems.extend(check_rules(wf))
    if registry.code_requirements:
        problems.extend(check_requirements(wf))
    return sorted(problems, key=lambda p: (p.file, p.line, p.message))


def _p(wf: WorkflowDef, line: int, message: str) -> Problem:
    return Problem(wf.file, line, message)


def _names_resolve(wf: WorkflowDef, registry: Registry) -> Iterable[Problem]:
    if wf.initial not in wf.states:
        yield _p(wf, wf.line, f"initial state {wf.initial!r} is not declared")
    for state in wf.states.values():
        for name in (*state.on_enter, *state.on_exit):
            if name not in registry.handlers:
                yield _p(wf, state.line, f"state {state.name!r}: unknown handler {name!r}")
    for t in wf.transitions:
        what = f"transition {t.trigger!r}"
        for source in t.sources:
            if source not in wf.states:
                yield _p(wf, t.line, f"{what}: unknown source state {source!r}")
        if t.dest is not None and t.dest not in wf.states:
            yield _p(wf, t.line, f"{what}: unknown destination state {t.dest!r}")
        for name in (*t.guards, *t.unless):
            if name not in registry.guards:
                yield _p(wf, t.line, f"{what}: unknown guard {name!r}")
        for name in t.handlers:
            if name not in registry.handlers:
                yield _p(wf, t.line, f"{what}: unknown handler {name!r}")
        for mail in t.mails:
            if mail.recipient not in RECIPIENTS:
                known = ", ".join(sorted(RECIPIENTS))
                yield _p(wf, mail.line, f"{what}: unknown recipient {mail.recipient!r} ({known})")


def _timers(wf: WorkflowDef, registry: Registry) -> Iterable[Problem]:
    anchors = TIMER_ANCHORS.get(wf.entity, frozenset())
    for state in wf.states.values():
        for timer in state.timers:
            where = f"timer of state {state.name!r}"
            if timer.trigger not in wf.triggers:
                yield _p(wf, timer.line, f"{where} fires unknown trigger {timer.trigger!r}")
                continue
            usable = [t for t in wf.transitions_from(state.name) if t.trigger == timer.trigger]
            if not usable:
                yield _p(
                    wf,
                    timer.line,
                    f"{where} fires {timer.trigger!r}, which is not allowed from {state.name!r}",
                )
            elif not any("timer" in t.by for t in usable):
                yield _p(wf, timer.line, f"{where} fires {timer.trigger!r}, which timers may not")
            if timer.anchor is not None and timer.anchor not in anchors:
                known = ", ".join(sorted(anchors)) or "none"
                yield _p(wf, timer.line, f"{where}: unknown date field {timer.anchor!r} ({known})")
            yield from _timer_count(wf, timer, where)


def _timer_count(wf: WorkflowDef, timer: TimerDef, where: str) -> Iterable[Problem]:
    """`or:` names a count the rows of this workflow carry, in the delay's own unit."""
    instead, unit = timer.delay.instead, timer.delay.unit
    if instead is None:
        return
    counts = TIMER_COUNTS.get(wf.entity, {})
    if instead not in counts:
        known = ", ".join(sorted(counts)) or "none"
        yield _p(wf, timer.line, f"{where}: unknown count {instead!r} for 'or' ({known})")
    elif counts[instead] != unit:
        yield _p(wf, timer.line, f"{where}: {instead!r} counts {counts[instead]}, not {unit}")


def _edges(wf: WorkflowDef) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for t in wf.transitions:
        for source in t.sources:
            edges[source].add(t.destination_from(source))
    return edges


def _reachability(wf: WorkflowDef, _registry: Registry) -> Iterable[Problem]:
    if wf.initial not in wf.states:
        return
    edges = _edges(wf)
    seen, queue = {wf.initial}, deque([wf.initial])
    while queue:
        for nxt in edges[queue.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    for state in wf.states.values():
        if state.name not in seen:
            yield _p(wf, state.line, f"state {state.name!r} cannot be reached from {wf.initial!r}")


def _ways_out(wf: WorkflowDef, _registry: Registry) -> Iterable[Problem]:
    edges = _edges(wf)
    for state in wf.states.values():
        leaves = edges[state.name] - {state.name}
        if state.final and edges[state.name]:
            yield _p(wf, state.line, f"final state {state.name!r} has transitions out of it")
        elif not state.final and not leaves:
            yield _p(
                wf,
                state.line,
                f"state {state.name!r} is not final and has no way out (mark it 'final: true'?)",
            )


def _trigger_consistency(wf: WorkflowDef, _registry: Registry) -> Iterable[Problem]:
    first_fields = {}
    for t in wf.transitions:
        if t.trigger not in first_fields:
            first_fields[t.trigger] = t.fields
        elif (
            first_fields[t.trigger]
            and t.fields
            and _shape(t.fields) != _shape(first_fields[t.trigger])
        ):
            yield _p(wf, t.line, f"trigger {t.trigger!r} declares different fields elsewhere")
    # A transition after an unguarded one with the same trigger and source is never taken.
    unguarded: dict[tuple[str, str], int] = {}
    for t in wf.transitions:
        for source in t.sources:
            key = (t.trigger, source)
            if key in unguarded:
                yield _p(
                    wf,
                    t.line,
                    f"transition {t.trigger!r} from {source!r} is never taken: the one at line "
                    f"{unguarded[key]} has no guard",
                )
            elif not t.guards and not t.unless:
                unguarded[key] = t.line


def _shape(fields: tuple[FieldDef, ...]) -> list[tuple[object, ...]]:
    return [(f.name, f.type, f.required, f.choices, f.when) for f in fields]


def _no_contact_states(wf: WorkflowDef, _registry: Registry) -> Iterable[Problem]:
    """Control-group cases are never mailed: no mail on a transition into or out of such states."""
    quiet = set(wf.states_tagged(NO_CONTACT_TAG))
    for t in wf.transitions:
        touches = (t.dest in quiet) or (quiet & set(t.sources))
        if t.mails and touches:
            yield _p(
                wf,
                t.line,
                f"transition {t.trigger!r} sends mail but touches a {NO_CONTACT_TAG!r} state",
            )


def _mail_links(wf: WorkflowDef, _registry: Registry) -> Iterable[Problem]:
    """A link in a mail must be usable when the mail arrives: its trigger is allowed, for the
    recipient's kind of actor, in the state the transition leads to."""
    for t in wf.transitions:
        for mail in t.mails:
            if not mail.links:
                continue
            actor = LINK_ACTORS.get(mail.recipient)
            if actor is None:
                yield _p(wf, mail.line, f"mail {mail.template!r}: {mail.recipient} gets no links")
                continue
            for trigger in mail.links:
                for source in t.sources:
                    state = t.destination_from(source)
                    usable = [
                        u
                        for u in wf.transitions_from(state)
                        if u.trigger == trigger and actor in u.by
                    ]
                    if not usable:
                        yield _p(
                            wf,
                            mail.line,
                            f"mail {mail.template!r}: link {trigger!r} cannot be used by a "
                            f"{actor} in state {state!r} (after {t.trigger!r} from {source!r})",
                        )
                        break


def _field_conditions(wf: WorkflowDef, registry: Registry) -> Iterable[Problem]:
    """A field's `when:` names a registered condition about this workflow's kind of row."""
    for t in wf.transitions:
        for f in t.fields:
            if f.when is None:
                continue
            where = f"field {f.name!r} of transition {t.trigger!r}"
            condition = registry.conditions.get(f.when)
            if condition is None:
                known = ", ".join(sorted(registry.conditions)) or "none"
                yield _p(wf, f.line, f"{where}: unknown condition {f.when!r} (known: {known})")
            elif condition.entity != wf.entity:
                yield _p(
                    wf,
                    f.line,
                    f"{where}: condition {f.when!r} is about a {condition.entity}, "
                    f"not a {wf.entity}",
                )


def _templates(wf: WorkflowDef, templates_dir: Path) -> Iterable[Problem]:
    env = mail_environment(templates_dir)
    checked: set[str] = set()
    for t in wf.transitions:
        for mail in t.mails:
            for part in MAIL_PARTS:
                rel = template_path(wf.name, mail.template, mail.recipient, part)
                if rel in checked:
                    continue
                checked.add(rel)
                path = templates_dir / rel
                if not path.is_file():
                    yield _p(wf, mail.line, f"missing template {rel} (in {templates_dir})")
                    continue
                try:
                    env.parse(path.read_text(encoding="utf-8"), name=rel, filename=str(path))
                except jinja2.TemplateSyntaxError as exc:
                    yield Problem(str(path), exc.lineno or 1, f"template syntax: {exc.message}")
