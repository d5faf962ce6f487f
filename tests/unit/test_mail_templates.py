"""The mail template environment: strict about names, escaping only HTML."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from casework.notify.templates import mail_environment, template_path


def test_template_names_follow_event_and_recipient() -> None:
    assert template_path("liaison", "escalation", "partner_manager", "html") == (
        "mail/liaison/escalation.partner_manager.html.j2"
    )


def test_undefined_names_fail_and_only_html_is_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "mail" / "case"
    folder.mkdir(parents=True)
    (folder / "x.counsellor.txt.j2").write_text("{{ name }}", encoding="utf-8")
    (folder / "x.counsellor.html.j2").write_text("<p>{{ name }}</p>", encoding="utf-8")
    env = mail_environment(tmp_path)
    assert env.get_template("mail/case/x.counsellor.txt.j2").render(name="A & B") == "A & B"
    html = env.get_template("mail/case/x.counsellor.html.j2").render(name="<b>A</b>")
    assert html == "<p>&lt;b&gt;A&lt;/b&gt;</p>"
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("mail/case/x.counsellor.txt.j2").render()
