"""Mail templates: one folder per workflow, one file per event, recipient and part.

    templates/mail/<workflow>/<event>.<recipient>.subject.j2   the subject line
    templates/mail/<workflow>/<event>.<recipient>.txt.j2       the plain-text part
    templates/mail/<workflow>/<event>.<recipient>.html.j2      the HTML part

Templates receive a flat context of precomputed values and never reach into the database;
an undefined name is an error, not an empty string; HTML parts are autoescaped.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

MAIL_PARTS = ("subject", "txt", "html")


def template_path(workflow: str, event: str, recipient: str, part: str) -> str:
    """Relative to the templates directory."""
    return f"mail/{workflow}/{event}.{recipient}.{part}.j2"


def mail_environment(templates_dir: Path) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        keep_trailing_newline=True,
    )
