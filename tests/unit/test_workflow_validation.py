"""Each problem a workflow definition can have is reported with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from casework.errors import Problem, WorkflowDefinitionError
from casework.handlers import registry as bundled_registry
from casework.handlers.registry import Registry
from casework.resources import default_templates_dir, default_workflows_dir
from casework.states.catalog import check_workflows, load_workflows

BASE = """\
workflow: mini
version: 1
entity: case
initial: a
states:
  a:
    label: Début
  b:
    on_enter: noop
    timers:
      - fire: finish
        after: {days: 3}
  z:
    final: true
transitions:
  - trigger: go
    source: a
    dest: b
    guards: ok
    mails:
      - {template: hello, to: counsellor}
  - trigger: finish
    source: b
    dest: z
    by: [timer, person]
"""


def _registry() -> Registry:
    registry = Registry()

    def ok(ctx: object) -> bool:
        return True

    def noop(ctx: object) -> None:
        return None

    registry.guard(ok)  # type: ignore[arg-type]
    registry.handler(noop)  # type: ignore[arg-type]
    registry.condition("beneficiary.minor", "case", "l'apprenti(e) est mineur(e)")(
        lambda row, now: True
    )
    registry.condition("sheet.sent", "liaison", "la fiche est envoyée")(lambda row, now: True)
    return registry


def _templates(root: Path) -> Path:
    folder = root / "templates" / "mail" / "mini"
    folder.mkdir(parents=True)
    for part in ("subject", "txt", "html"):
        (folder / f"hello.counsellor.{part}.j2").write_text(
            "Bonjour {{ name }}\n", encoding="utf-8"
        )
    return root / "templates"


def check(tmp_path: Path, text: str, *, extra: dict[str, str] | None = None) -> list[Problem]:
    workflows = tmp_path / "workflows"
    workflows.mkdir(exist_ok=True)
    (workflows / "mini.yaml").write_text(text, encoding="utf-8")
    for name, body in (extra or {}).items():
        (workflows / name).write_text(body, encoding="utf-8")
    templates = (
        tmp_path / "templates" if (tmp_path / "templates").exists() else _templates(tmp_path)
    )
    _definitions, problems = check_workflows(workflows, _registry(), templates)
    return problems


def line_of(text: str, marker: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if marker in line)


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, problems
    return problems[0]


def test_the_base_definition_is_valid(tmp_path: Path) -> None:
    assert check(tmp_path, BASE) == []


def test_the_bundled_workflows_are_valid() -> None:
    definitions, problems = check_workflows(
        default_workflows_dir(), bundled_registry, default_templates_dir()
    )
    assert problems == []
    assert {d.name for d in definitions} == {"case", "liaison", "pre_apprenticeship"}


@pytest.mark.parametrize(
    ("old", "new", "marker", "message"),
    [
        (
            "    source: a\n",
            "    source: nowhere\n",
            "trigger: go",
            "unknown source state 'nowhere'",
        ),
        ("    dest: b\n", "    dest: elsewhere\n", "trigger: go", "unknown destination state"),
        ("    guards: ok\n", "    guards: maybe\n", "trigger: go", "unknown guard 'maybe'"),
        (
            "    by: [timer, person]\n",
            "    by: [timer, person]\n    handlers: vanish\n",
            "trigger: finish",
            "unknown handler 'vanish'",
        ),
        (
            "    on_enter: noop\n",
            "    on_enter: nope\n",
            "  b:",
            "state 'b': unknown handler 'nope'",
        ),
        (
            "{template: hello, to: counsellor}",
            "{template: hello, to: mayor}",
            "template: hello",
            "unknown recipient 'mayor'",
        ),
        (
            "{template: hello, to: counsellor}",
            "{template: bye, to: counsellor}",
            "template: bye",
            "missing template mail/mini/bye.counsellor.subject.j2",
        ),
        (
            "      - fire: finish\n",
            "      - fire: vanish\n",
            "fire: vanish",
            "fires unknown trigger 'vanish'",
        ),
        (
            "        after: {days: 3}\n",
            "        after: {days: 3}\n        from: contract.moon\n",
            "fire: finish",
            "unknown date field 'contract.moon'",
        ),
        ("    by: [timer, person]\n", "    by: [person]\n", "fire: finish", "which timers may not"),
        ("    guards: ok\n", "    gaurds: ok\n", "gaurds", "unknown key 'gaurds' in a transition"),
        (
            "        after: {days: 3}\n",
            "        after: {fortnights: 3}\n",
            "fortnights",
            "unknown delay unit 'fortnights'",
        ),
        (
            "        after: {days: 3}\n",
            "        after: {days: -3}\n",
            "days: -3",
            "a delay must be a whole number",
        ),
        (
            "        after: {days: 3}\n",
            "        after: {days: 3, or: partner.ack_days}\n",
            "fire: finish",
            "unknown count 'partner.ack_days' for 'or' (none)",  # cases have no partner
        ),
        (
            "        after: {days: 3}\n",
            "        after: {days: 3, plus: 2}\n",
            "plus: 2",
            "'plus' adds to an 'or' count: give 'or'",
        ),
        (
            "        after: {days: 3}\n",
            "        after: {days: 3, or: partner.ack_days, plus: many}\n",
            "plus: many",
            "'plus' must be a whole number",
        ),
        (
            "        after: {days: 3}\n",
            "        after: {days: 3, hours: 2}\n",
            "after:",
            "'after' takes exactly one of",
        ),
        (
            "initial: a\n",
            "initial: start\n",
            "workflow: mini",
            "initial state 'start' is not declared",
        ),
        ("entity: case\n", "entity: dossier\n", "entity:", "entity must be one of"),
        (
            "      - {template: hello, to: counsellor}\n",
            "      - hello\n",
            "- hello",
            "an item of 'mails' in transition 'go' must be a mapping",
        ),
    ],
)
def test_each_problem_is_reported_where_it_is(
    tmp_path: Path, old: str, new: str, marker: str, message: str
) -> None:
    assert old in BASE
    text = BASE.replace(old, new, 1)
    problems = check(tmp_path, text)
    assert any(message in p.message for p in problems), problems
    problem = next(p for p in problems if message in p.message)
    assert problem.file.endswith("mini.yaml")
    assert problem.line == line_of(text, marker)


def test_a_timer_may_take_a_partners_own_deadline_in_its_unit(tmp_path: Path) -> None:
    """`or:` names a count the workflow's rows carry (a sheet's partner's deadlines, in
    working days): known names in the right unit load; the others are reported."""
    sheet = BASE.replace("entity: case\n", "entity: liaison\n")
    good = sheet.replace(
        "after: {days: 3}", "after: {working_days: 6, or: partner.ack_days, plus: 3}"
    )
    assert check(tmp_path, good) == []
    other_unit = sheet.replace("after: {days: 3}", "after: {days: 3, or: partner.ack_days}")
    problem = only(check(tmp_path, other_unit))
    assert problem.message == (
        "timer of state 'b': 'partner.ack_days' counts working_days, not days"
    )
    assert problem.line == line_of(other_unit, "fire: finish")
    unknown = sheet.replace("after: {days: 3}", "after: {days: 3, or: partner.mood}")
    assert "unknown count 'partner.mood' for 'or' (partner.ack_days, partner.feedback_days)" in (
        only(check(tmp_path, unknown)).message
    )


def test_unreachable_state(tmp_path: Path) -> None:
    text = BASE.replace("  z:\n", "  orphan:\n    final: true\n  z:\n")
    problem = only(check(tmp_path, text))
    assert problem.message == "state 'orphan' cannot be reached from 'a'"
    assert problem.line == line_of(text, "orphan:")


def test_a_non_final_state_with_no_way_out(tmp_path: Path) -> None:
    text = BASE.replace("    final: true\n", "    label: Fin ?\n")
    problem = only(check(tmp_path, text))
    assert "state 'z' is not final and has no way out" in problem.message
    assert problem.line == line_of(text, "  z:")


def test_a_state_with_only_internal_transitions_has_no_way_out(tmp_path: Path) -> None:
    text = BASE.replace("    source: b\n    dest: z\n", "    source: b\n    internal: true\n")
    problems = check(tmp_path, text)
    assert any("state 'b' is not final and has no way out" in p.message for p in problems)


def test_a_final_state_with_a_way_out(tmp_path: Path) -> None:
    text = BASE + "  - trigger: again\n    source: z\n    dest: a\n"
    problem = only(check(tmp_path, text))
    assert problem.message == "final state 'z' has transitions out of it"


def test_a_timer_firing_a_trigger_not_allowed_from_its_state(tmp_path: Path) -> None:
    text = BASE.replace("      - fire: finish\n", "      - fire: go\n")
    problems = check(tmp_path, text)
    assert any("fires 'go', which is not allowed from 'b'" in p.message for p in problems)


def test_a_transition_hidden_behind_an_unguarded_one(tmp_path: Path) -> None:
    text = BASE + "  - trigger: finish\n    source: b\n    dest: a\n"
    problem = only(check(tmp_path, text))
    assert "is never taken" in problem.message
    assert problem.line == len(text.splitlines()) - 2


def test_one_trigger_asks_for_one_set_of_fields(tmp_path: Path) -> None:
    text = BASE.replace(
        "    by: [timer, person]\n",
        "    by: [timer, person]\n    fields: {note: {type: text}}\n"
        "  - trigger: finish\n    source: a\n    dest: z\n    fields: {note: {type: int}}\n",
    )
    problems = check(tmp_path, text)
    assert any("declares different fields" in p.message for p in problems)


def test_no_mail_into_a_no_contact_state(tmp_path: Path) -> None:
    text = BASE.replace("  b:\n", "  b:\n    tags: [no_contact]\n")
    problem = only(check(tmp_path, text))
    assert "sends mail but touches a 'no_contact' state" in problem.message
    assert problem.line == line_of(text, "trigger: go")


def test_a_mail_link_must_be_usable_by_its_recipient_where_the_mail_arrives(
    tmp_path: Path,
) -> None:
    good = BASE.replace(
        "{template: hello, to: counsellor}", "{template: hello, to: counsellor, links: [finish]}"
    )
    assert check(tmp_path, good) == []
    # `go` is not open in b (where the mail arrives).
    text = BASE.replace(
        "{template: hello, to: counsellor}", "{template: hello, to: counsellor, links: [go]}"
    )
    problem = only(check(tmp_path, text))
    assert "link 'go' cannot be used by a person in state 'b'" in problem.message
    assert problem.line == line_of(text, "links: [go]")


def test_a_mail_link_for_a_trigger_only_timers_fire(tmp_path: Path) -> None:
    text = BASE.replace("by: [timer, person]", "by: [timer]").replace(
        "{template: hello, to: counsellor}", "{template: hello, to: counsellor, links: [finish]}"
    )
    problem = only(check(tmp_path, text))
    assert "link 'finish' cannot be used by a person" in problem.message


def test_mail_reply_must_be_true_or_false(tmp_path: Path) -> None:
    text = BASE.replace(
        "{template: hello, to: counsellor}", "{template: hello, to: counsellor, reply: maybe}"
    )
    problem = only(check(tmp_path, text))
    assert "'reply' must be true or false" in problem.message


def test_field_vocabularies(tmp_path: Path) -> None:
    text = BASE.replace(
        "    guards: ok\n",
        "    guards: ok\n    fields:\n      need: {type: choice, vocabulary: wishes}\n"
        "      mood: {type: choice}\n      size: {type: huge}\n",
    )
    messages = [p.message for p in check(tmp_path, text)]
    assert any("unknown vocabulary 'wishes'" in m for m in messages)
    assert any("a choice needs 'choices' or 'vocabulary'" in m for m in messages)
    assert any("unknown type 'huge'" in m for m in messages)


def test_a_field_applies_under_a_registered_condition_about_its_kind_of_row(
    tmp_path: Path,
) -> None:
    def with_when(when: str) -> str:
        return BASE.replace(
            "    guards: ok\n",
            f"    guards: ok\n    fields:\n      agreed: {{type: bool, when: {when}}}\n",
        )

    assert check(tmp_path, with_when("beneficiary.minor")) == []
    text = with_when("beneficiary.underage")
    problem = only(check(tmp_path, text))
    assert problem.message == (
        "field 'agreed' of transition 'go': unknown condition 'beneficiary.underage' "
        "(known: beneficiary.minor, sheet.sent)"
    )
    assert problem.line == line_of(text, "agreed:")
    problem = only(check(tmp_path, with_when("sheet.sent")))
    assert "condition 'sheet.sent' is about a liaison, not a case" in problem.message


def test_the_guardian_box_is_declared_for_minors_only() -> None:
    workflows = load_workflows(default_workflows_dir(), bundled_registry, default_templates_dir())
    consent = next(
        t for t in workflows.latest("case").definition.transitions if t.trigger == "give_consent"
    )
    assert {f.name: f.when for f in consent.fields}["guardian_agreed"] == "beneficiary.minor"


def test_a_missing_mail_part_and_a_broken_template(tmp_path: Path) -> None:
    templates = _templates(tmp_path)
    (templates / "mail/mini/hello.counsellor.html.j2").unlink()
    broken = templates / "mail/mini/hello.counsellor.txt.j2"
    broken.write_text("Bonjour\n{% if name %}\n{{ name }\n", encoding="utf-8")
    problems = check(tmp_path, BASE)
    assert any(
        p.message.startswith("missing template mail/mini/hello.counsellor.html.j2")
        for p in problems
    )
    syntax = next(p for p in problems if "template syntax" in p.message)
    assert (syntax.file, syntax.line) == (str(broken), 3)


def test_yaml_syntax_errors_have_a_line(tmp_path: Path) -> None:
    text = BASE.replace("    dest: b\n", "    dest: [b\n")
    problem = only(check(tmp_path, text))
    assert problem.message.startswith("YAML syntax")
    assert problem.line >= line_of(text, "dest: [b")


def test_a_key_given_twice_is_an_error(tmp_path: Path) -> None:
    text = BASE.replace("    dest: b\n", "    dest: b\n    dest: z\n")
    problem = only(check(tmp_path, text))
    assert "key 'dest' given twice" in problem.message
    assert problem.line == line_of(text, "dest: z")


def test_an_unknown_tag_in_sources(tmp_path: Path) -> None:
    text = BASE.replace("    source: a\n", '    source: "@active"\n')
    problems = check(tmp_path, text)
    assert any("no state is tagged 'active'" in p.message for p in problems)


def test_on_off_yes_no_stay_names(tmp_path: Path) -> None:
    text = (
        BASE.replace("trigger: go", "trigger: on")
        .replace("  a:\n", "  yes:\n")
        .replace("initial: a", "initial: yes")
        .replace("source: a", "source: yes")
    )
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "mini.yaml").write_text(text, encoding="utf-8")
    loaded = load_workflows(workflows, _registry(), _templates(tmp_path))
    definition = loaded.definition("mini", 1)
    assert definition.initial == "yes"
    assert "on" in definition.triggers


def test_the_same_version_twice(tmp_path: Path) -> None:
    problems = check(tmp_path, BASE, extra={"mini-copy.yaml": BASE})
    assert any("workflow 'mini' version 1 is already defined" in p.message for p in problems)


def test_loading_refuses_and_lists_every_problem(tmp_path: Path) -> None:
    text = BASE.replace("guards: ok", "guards: maybe").replace("on_enter: noop", "on_enter: nope")
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "mini.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowDefinitionError) as error:
        load_workflows(workflows, _registry(), _templates(tmp_path))
    assert len(error.value.problems) == 2
    assert error.value.file.endswith("mini.yaml")
    assert "2 problème(s)" in error.value.french()


def test_an_empty_folder_is_a_problem(tmp_path: Path) -> None:
    _definitions, problems = check_workflows(tmp_path, _registry(), tmp_path)
    assert "no workflow file" in only(problems).message
