"""The domain rules a workflow file declares besides its machine: what starts a case (`start:`),
the lines of the counsellor's daily digest (`digest:`), what a reply by mail does (`replies:`),
the phases of the counsellor's work (`phases:`, in `phases.py`).

Reading them (`read_rules`, structure only, like `reader.py`) and checking that every name they
use resolves in the workflow (`check_rules`, like `validation.py`): a state renamed in the file
and not in its digest line fails `casework workflows check` at that line, instead of leaving
the digest silently empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from casework.errors import Problem
from casework.states.definition import (
    DIGEST_FILTERS,
    GROUPS,
    LINK_ACTORS,
    DigestDef,
    ReplyDef,
    WorkflowDef,
)
from casework.states.phases import check_phases, read_phases
from casework.states.yaml_lines import LDict

if TYPE_CHECKING:
    from casework.states.reader import _Reader

RULE_SECTIONS = ("start", "digest", "replies", "phases")
_DIGEST_KEYS = {"states", "fire", "says", "link", "unless"}
_REPLY_KEYS = {"fire", "text", "says"}
# Digest links go to the counsellor, who acts as a person.
_DIGEST_ACTOR = LINK_ACTORS["counsellor"]


def read_rules(reader: _Reader, top: LDict) -> dict[str, Any]:
    """The rule sections of the file, as `WorkflowDef` keyword arguments."""
    lines = {key: top.line_of(key) for key in RULE_SECTIONS if key in top}
    return {
        "start": MappingProxyType(_read_start(reader, top)),
        "digest": tuple(_read_digest(reader, top)),
        "replies": MappingProxyType(_read_replies(reader, top)),
        "phases": MappingProxyType(read_phases(reader, top)),
        "section_lines": MappingProxyType(lines),
    }


def _read_start(reader: _Reader, top: LDict) -> dict[str, str]:
    if "start" not in top:
        return {}
    node = reader.mapping(top["start"], top.line_of("start"), "'start'")
    found = {}
    for group in node or {}:
        trigger = reader.string(node, group, "'start'")  # type: ignore[arg-type]
        if trigger is not None:
            found[group] = trigger
    return found


def _read_digest(reader: _Reader, top: LDict) -> list[DigestDef]:
    found = []
    for node in reader.mappings(top, "digest", "the workflow"):
        what = "a line of 'digest'"
        reader.keys(node, _DIGEST_KEYS, what)
        states = reader.names(node, "states", what)
        trigger = reader.string(node, "fire", what, required=True)
        says = reader.string(node, "says", what, required=True)
        link = reader.string(node, "link", what, required=True)
        unless = reader.string(node, "unless", what)
        if not states:
            reader.problem(node.line, f"{what} needs 'states'")
        elif trigger and says and link:
            found.append(DigestDef(states, trigger, says, link, node.line, unless))
    return found


def _read_replies(reader: _Reader, top: LDict) -> dict[str, ReplyDef]:
    if "replies" not in top:
        return {}
    node = reader.mapping(top["replies"], top.line_of("replies"), "'replies'")
    found = {}
    for state, line, body, what in reader.named_mappings(
        node, _REPLY_KEYS, lambda state: f"the reply in state {state!r}"
    ):
        trigger = reader.string(body, "fire", what, required=True)
        field = reader.string(body, "text", what, required=True)
        says = reader.string(body, "says", what, required=True)
        if trigger and field and says:
            found[state] = ReplyDef(state, trigger, field, says, line)
    return found


# -- checks ------------------------------------------------------------------------------------


def check_rules(wf: WorkflowDef) -> Iterable[Problem]:
    """Every name the rule sections use resolves in the workflow (said in French)."""
    yield from _check_start(wf)
    yield from _check_digest(wf)
    yield from _check_replies(wf)
    yield from check_phases(wf)


def _p(wf: WorkflowDef, line: int, message: str) -> Problem:
    return Problem(wf.file, line, message)


def _allowed(wf: WorkflowDef, state: str, trigger: str, actor: str) -> bool:
    return any(t.trigger == trigger and actor in t.by for t in wf.transitions_from(state))


def _check_start(wf: WorkflowDef) -> Iterable[Problem]:
    line = wf.section_lines.get("start", wf.line)
    if wf.entity != "case":
        if wf.start:
            yield _p(wf, line, "« start » ne vaut que pour un workflow de dossiers (entity: case)")
        return
    for group, trigger in wf.start.items():
        if group not in GROUPS:
            yield _p(wf, line, f"« start » : groupe inconnu « {group} » (test ou control)")
        elif not any(t.trigger == trigger for t in wf.transitions_from(wf.initial)):
            yield _p(
                wf,
                line,
                f"« start » : le déclencheur « {trigger} » (groupe « {group} ») n'est pas "
                f"permis depuis l'état initial « {wf.initial} »",
            )


def _check_digest(wf: WorkflowDef) -> Iterable[Problem]:
    filters = DIGEST_FILTERS.get(wf.entity, frozenset())
    for due in wf.digest:
        where = f"ligne du résumé « {due.says} »"
        for state in due.states:
            if state not in wf.states:
                yield _p(wf, due.line, f"{where} : l'état « {state} » n'existe pas")
            elif not _allowed(wf, state, due.trigger, _DIGEST_ACTOR):
                yield _p(
                    wf,
                    due.line,
                    f"{where} : le déclencheur « {due.trigger} » n'est pas permis au conseiller "
                    f"depuis l'état « {state} »",
                )
        if due.unless is not None and due.unless not in filters:
            known = ", ".join(sorted(filters)) or "aucun"
            yield _p(wf, due.line, f"{where} : filtre « {due.unless} » inconnu (connus : {known})")


def _check_replies(wf: WorkflowDef) -> Iterable[Problem]:
    if wf.replies and wf.entity != "liaison":
        line = wf.section_lines.get("replies", wf.line)
        yield _p(wf, line, "« replies » ne vaut que pour une fiche de liaison (entity: liaison)")
        return
    for reply in wf.replies.values():
        where = f"réponse dans l'état « {reply.state} »"
        if reply.state not in wf.states:
            yield _p(wf, reply.line, f"{where} : l'état « {reply.state} » n'existe pas")
            continue
        usable = [
            t
            for t in wf.transitions_from(reply.state)
            if t.trigger == reply.trigger and "partner" in t.by
        ]
        if not usable:
            yield _p(
                wf,
                reply.line,
                f"{where} : le déclencheur « {reply.trigger} » n'est pas permis à un partenaire "
                f"depuis cet état",
            )
        elif not all(
            any(f.name == reply.field and f.type == "text" for f in t.fields) for t in usable
        ):
            yield _p(
                wf,
                reply.line,
                f"{where} : « {reply.trigger} » n'a pas de champ texte « {reply.field} » "
                "pour le texte de la réponse",
            )
