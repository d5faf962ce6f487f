"""Read one workflow YAML file into a `WorkflowDef`, collecting every structural problem.

Structure only: types, required and unknown keys (a misspelt `gaurds:` must not be ignored).
Whether names resolve (states, guards, templates) is `validation.py`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from casework.errors import Problem
from casework.states.definition import (
    ACTOR_KINDS,
    DELAY_UNITS,
    FIELD_TYPES,
    MISFIRE_POLICIES,
    Delay,
    FieldDef,
    MailDef,
    StateDef,
    TimerDef,
    TransitionDef,
    WorkflowDef,
)
from casework.states.rules import RULE_SECTIONS, read_rules
from casework.states.yaml_lines import LDict, LList, YamlSyntaxError, load_with_lines
from casework.text_limits import NOTE

NOTE_MAX = NOTE.max_length  # a text field's `max_length` may tighten free text's, not loosen it

ENTITIES = ("case", "liaison")
_TOP_KEYS = {
    "workflow",
    "version",
    "entity",
    "label",
    "description",
    "initial",
    "parameters",
    "states",
    "transitions",
    *RULE_SECTIONS,
}
_STATE_KEYS = {"label", "description", "final", "tags", "timers", "on_enter", "on_exit", "awaits"}
_TIMER_KEYS = {"fire", "after", "from", "misfire", "description"}
_DELAY_KEYS = {"or", "plus"}  # besides its one unit
_TRANSITION_KEYS = {
    "trigger",
    "source",
    "dest",
    "internal",
    "label",
    "description",
    "guards",
    "unless",
    "handlers",
    "mails",
    "fields",
    "by",
    "tags",
}
_MAIL_KEYS = {"template", "to", "links", "reply"}
_FIELD_KEYS = {
    "type",
    "label",
    "required",
    "choices",
    "vocabulary",
    "min",
    "max",
    "max_length",
    "when",
}


class _Reader:
    def __init__(self, file: str, vocabularies: Mapping[str, tuple[str, ...]]):
        self.file = file
        self.vocabularies = vocabularies
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    # -- small typed accessors -------------------------------------------------------------

    def mapping(self, value: Any, line: int, what: str) -> LDict | None:
        if isinstance(value, LDict):
            return value
        self.problem(line, f"{what} must be a mapping")
        return None

    def keys(self, node: LDict, allowed: set[str], what: str) -> None:
        for key in node:
            if key not in allowed:
                hint = ", ".join(sorted(allowed))
                self.problem(node.line_of(key), f"unknown key {key!r} in {what} (known: {hint})")

    def mappings(self, node: LDict, key: str, what: str, required: bool = False) -> list[LDict]:
        """`node[key]` as a list of mappings (each reported and left out if it is not one)."""
        items = node.get(key)
        if items is None and not required:
            return []
        if not isinstance(items, LList):
            self.problem(node.line_of(key), f"{what}: {key!r} must be a list")
            return []
        found = []
        for item, line in zip(items, items.lines, strict=True):
            mapping = self.mapping(item, line, f"an item of {key!r} in {what}")
            if mapping is not None:
                found.append(mapping)
        return found

    def named_mappings(
        self, body: LDict | None, allowed: set[str], what: Callable[[str], str]
    ) -> Iterator[tuple[str, int, LDict, str]]:
        """Each `name: {mapping}` of `body`, its keys checked: (name, line, mapping, what it
        is); an entry that is not a mapping is reported and left out."""
        for name, spec in (body or {}).items():
            line = body.line_of(name)  # type: ignore[union-attr]
            where = what(name)
            spec = self.mapping(spec, line, where)
            if spec is not None:
                self.keys(spec, allowed, where)
                yield name, line, spec, where

    def string(self, node: LDict, key: str, what: str, required: bool = False) -> str | None:
        if key not in node or node[key] is None:
            if required:
                self.problem(node.line, f"{what} needs {key!r}")
            return None
        value = node[key]
        if isinstance(value, str) and value.strip():
            return value
        self.problem(node.line_of(key), f"{what}: {key!r} must be a non-empty string")
        return None

    def names(self, node: LDict, key: str, what: str) -> tuple[str, ...]:
        """A name or a list of names."""
        value = node.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if isinstance(value, LList) and all(isinstance(v, str) for v in value):
            return tuple(value)
        self.problem(node.line_of(key), f"{what}: {key!r} must be a name or a list of names")
        return ()

    def boolean(self, node: LDict, key: str, what: str) -> bool:
        value = node.get(key, False)
        if isinstance(value, bool):
            return value
        self.problem(node.line_of(key), f"{what}: {key!r} must be true or false")
        return False

    def integer(self, node: LDict, key: str, what: str) -> int | None:
        value = node.get(key)
        if value is None:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        self.problem(node.line_of(key), f"{what}: {key!r} must be a whole number")
        return None

    # -- the document ----------------------------------------------------------------------

    def read(self, doc: Any) -> WorkflowDef | None:
        top = self.mapping(doc, 1, "the workflow file")
        if top is None:
            return None
        self.keys(top, _TOP_KEYS, "the workflow")
        name = self.string(top, "workflow", "the workflow", required=True)
        version = self.integer(top, "version", "the workflow")
        if version is None:
            self.problem(top.line_of("version"), "the workflow needs a whole-number 'version'")
        entity = self.string(top, "entity", "the workflow", required=True)
        if entity is not None and entity not in ENTITIES:
            self.problem(top.line_of("entity"), f"entity must be one of {', '.join(ENTITIES)}")
        initial = self.string(top, "initial", "the workflow", required=True)
        parameters: dict[str, Any] = {}
        if "parameters" in top:
            params = self.mapping(top["parameters"], top.line_of("parameters"), "parameters")
            parameters = dict(params or {})

        states = self.read_states(top)
        transitions = self.read_transitions(top, states)
        rules = read_rules(self, top)
        if name is None or version is None or entity is None or initial is None:
            return None
        return WorkflowDef(
            name=name,
            version=version,
            entity=entity,
            initial=initial,
            file=self.file,
            line=top.line,
            label=self.string(top, "label", "the workflow") or name,
            states=MappingProxyType(states),
            transitions=tuple(transitions),
            parameters=MappingProxyType(parameters),
            **rules,
        )

    def read_states(self, top: LDict) -> dict[str, StateDef]:
        node = self.mapping(top.get("states"), top.line_of("states"), "'states'")
        states: dict[str, StateDef] = {}
        for name, body in (node or {}).items():
            line = node.line_of(name)  # type: ignore[union-attr]
            what = f"state {name!r}"
            if body is None:
                body = LDict()
                body.line, body.lines = line, {}
            body = self.mapping(body, line, what)
            if body is None:
                continue
            self.keys(body, _STATE_KEYS, what)
            states[name] = StateDef(
                name=name,
                line=line,
                label=self.string(body, "label", what) or name,
                final=self.boolean(body, "final", what),
                tags=frozenset(self.names(body, "tags", what)),
                timers=self.read_timers(body, what),
                on_enter=self.names(body, "on_enter", what),
                on_exit=self.names(body, "on_exit", what),
                awaits=self.string(body, "awaits", what) or "",
            )
        return states

    def read_timers(self, state: LDict, what: str) -> tuple[TimerDef, ...]:
        timers = []
        for node in self.mappings(state, "timers", what):
            self.keys(node, _TIMER_KEYS, f"a timer of {what}")
            trigger = self.string(node, "fire", f"a timer of {what}", required=True)
            delay = self.read_delay(node, what)
            anchor = self.string(node, "from", f"a timer of {what}")
            misfire = self.string(node, "misfire", f"a timer of {what}") or "fire"
            if misfire not in MISFIRE_POLICIES:
                self.problem(node.line_of("misfire"), f"misfire must be one of {MISFIRE_POLICIES}")
            if trigger is not None and delay is not None:
                timers.append(TimerDef(trigger, delay, node.line, anchor, misfire))
        return tuple(timers)

    def read_delay(self, timer: LDict, what: str) -> Delay | None:
        node = self.mapping(timer.get("after"), timer.line_of("after"), f"'after' of {what}")
        if node is None:
            return None
        counts = [key for key in node if key not in _DELAY_KEYS]
        if len(counts) != 1:
            self.problem(
                node.line,
                f"'after' takes exactly one of {', '.join(DELAY_UNITS)} (and 'or', 'plus')",
            )
            return None
        unit, amount = counts[0], node[counts[0]]
        if unit not in DELAY_UNITS:
            self.problem(node.line_of(unit), f"unknown delay unit {unit!r} ({DELAY_UNITS})")
            return None
        if not _whole(amount):
            self.problem(node.line_of(unit), "a delay must be a whole number, 0 or more")
            return None
        # `or`: a count of the row that replaces the amount when the row has one (which names
        # exist is checked with the workflow's entity, in `validation.py`).
        instead = self.string(node, "or", f"'after' of {what}")
        plus = node.get("plus", 0)
        if not _whole(plus):
            self.problem(node.line_of("plus"), "'plus' must be a whole number, 0 or more")
            return None
        if "plus" in node and instead is None:
            self.problem(node.line_of("plus"), "'plus' adds to an 'or' count: give 'or'")
            return None
        return Delay(amount, unit, instead, plus)

    def read_transitions(self, top: LDict, states: dict[str, StateDef]) -> list[TransitionDef]:
        result = []
        for node in self.mappings(top, "transitions", "the workflow", required=True):
            self.keys(node, _TRANSITION_KEYS, "a transition")
            trigger = self.string(node, "trigger", "a transition", required=True)
            what = f"transition {trigger!r}"
            sources = self.expand_sources(node, states, what)
            internal = self.boolean(node, "internal", what)
            dest = self.string(node, "dest", what)
            if internal and dest is not None:
                self.problem(node.line, f"{what}: an internal transition has no 'dest'")
            elif not internal and dest is None:
                self.problem(node.line, f"{what} needs 'dest' (or 'internal: true')")
                continue
            by = self.names(node, "by", what)
            for kind in by:
                if kind not in ACTOR_KINDS:
                    self.problem(node.line_of("by"), f"{what}: unknown actor kind {kind!r}")
            if trigger is None or not sources:
                continue
            result.append(
                TransitionDef(
                    trigger=trigger,
                    sources=sources,
                    dest=dest,
                    line=node.line,
                    label=self.string(node, "label", what) or trigger,
                    guards=self.names(node, "guards", what),
                    unless=self.names(node, "unless", what),
                    handlers=self.names(node, "handlers", what),
                    mails=self.read_mails(node, what),
                    fields=self.read_fields(node, what),
                    by=frozenset(by) if by else ACTOR_KINDS,
                    tags=frozenset(self.names(node, "tags", what)),
                )
            )
        return result

    def expand_sources(
        self, node: LDict, states: dict[str, StateDef], what: str
    ) -> tuple[str, ...]:
        """`source` names states; `@tag` stands for every state carrying that tag."""
        if "source" not in node:
            self.problem(node.line, f"{what} needs 'source'")
            return ()
        sources: list[str] = []
        for name in self.names(node, "source", what):
            if name.startswith("@"):
                tagged = [s for s, d in states.items() if name[1:] in d.tags]
                if not tagged:
                    self.problem(node.line_of("source"), f"{what}: no state is tagged {name[1:]!r}")
                sources.extend(tagged)
            else:
                sources.append(name)
        return tuple(dict.fromkeys(sources))

    def read_mails(self, node: LDict, what: str) -> tuple[MailDef, ...]:
        mails = []
        for mail in self.mappings(node, "mails", what):
            self.keys(mail, _MAIL_KEYS, f"a mail of {what}")
            template = self.string(mail, "template", f"a mail of {what}", required=True)
            recipient = self.string(mail, "to", f"a mail of {what}", required=True)
            links = self.names(mail, "links", f"a mail of {what}")
            reply = self.boolean(mail, "reply", f"a mail of {what}")
            if template and recipient:
                mails.append(MailDef(template, recipient, mail.line, links, reply))
        return tuple(mails)

    def read_fields(self, node: LDict, what: str) -> tuple[FieldDef, ...]:
        if "fields" not in node:
            return ()
        body = self.mapping(node["fields"], node.line_of("fields"), f"'fields' of {what}")
        fields = []
        of = f" of {what}"
        for name, line, spec, where in self.named_mappings(
            body, _FIELD_KEYS, lambda name: f"field {name!r}{of}"
        ):
            ftype = self.string(spec, "type", where, required=True)
            if ftype is not None and ftype not in FIELD_TYPES:
                self.problem(spec.line_of("type"), f"{where}: unknown type {ftype!r}")
                continue
            choices = self.names(spec, "choices", where)
            vocabulary = self.string(spec, "vocabulary", where)
            if vocabulary is not None:
                if vocabulary not in self.vocabularies:
                    known = ", ".join(sorted(self.vocabularies))
                    self.problem(
                        spec.line_of("vocabulary"),
                        f"{where}: unknown vocabulary {vocabulary!r} (known: {known})",
                    )
                choices = choices or self.vocabularies.get(vocabulary, ())
            if ftype in ("choice", "multichoice") and not choices:
                self.problem(spec.line, f"{where}: a {ftype} needs 'choices' or 'vocabulary'")
            if ftype is None:
                continue
            max_length = self.integer(spec, "max_length", where)
            if max_length is not None and (ftype != "text" or not 1 <= max_length <= NOTE_MAX):
                self.problem(
                    spec.line_of("max_length"),
                    f"{where}: 'max_length' is for a text, from 1 to {NOTE_MAX}",
                )
                max_length = None
            fields.append(
                FieldDef(
                    name=name,
                    type=ftype,
                    line=line,
                    label=self.string(spec, "label", where) or name,
                    required=self.boolean(spec, "required", where),
                    choices=choices,
                    minimum=self.integer(spec, "min", where),
                    maximum=self.integer(spec, "max", where),
                    max_length=max_length,
                    when=self.string(spec, "when", where),
                )
            )
        return tuple(fields)


def read_workflow(
    path: Path, vocabularies: Mapping[str, tuple[str, ...]] | None = None
) -> tuple[WorkflowDef | None, list[Problem]]:
    """Read a workflow file; returns the definition (if it could be built) and the problems."""
    reader = _Reader(str(path), vocabularies or {})
    try:
        doc = load_with_lines(path.read_text(encoding="utf-8"))
    except YamlSyntaxError as exc:
        return None, [Problem(str(path), exc.line, f"YAML syntax: {exc.message}")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 1, f"cannot read the file: {exc}")]
    definition = reader.read(doc)
    return definition, reader.problems


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
