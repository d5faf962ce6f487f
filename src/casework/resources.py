"""Where the bundled workflow definitions and templates are.

In a source checkout they are at the top of the repository (`workflows/`, `templates/`); an
installed wheel carries copies in `casework/_data/`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def default_workflows_dir() -> Path:
    return _first_existing(_CHECKOUT / "workflows", _PACKAGE / "_data" / "workflows")


def default_templates_dir() -> Path:
    return _first_existing(_CHECKOUT / "templates", _PACKAGE / "_data" / "templates")
