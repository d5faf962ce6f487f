"""The docs' walkthroughs, run as a newcomer would: each command of a shell block, in order,
in an empty folder (the default SQLite database in ./var/), with the sample files at
`examples/`. A line commented "refused" must fail; every other must succeed."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from casework.cli import main

ROOT = Path(__file__).resolve().parents[2]


def shell_block(markdown: Path, after: str) -> list[str]:
    """The lines of the first ```sh block after the heading or sentence `after`."""
    text = markdown.read_text(encoding="utf-8")
    start = text.index("```sh", text.index(after)) + len("```sh")
    return [line for line in text[start : text.index("```", start)].splitlines() if line.strip()]


WALKTHROUGHS = {
    "docs/intake": shell_block(ROOT / "docs" / "intake.md", "# Intake"),
    "docs/staff-and-partners": shell_block(
        ROOT / "docs" / "staff-and-partners.md", "## Partners and referrals"
    ),
    "examples/README": shell_block(ROOT / "examples" / "README.md", "# Sample files"),
}


@pytest.mark.parametrize("name", list(WALKTHROUGHS))
def test_a_walkthrough_works_as_written(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    for variable in ("CASEWORK_AS", "CASEWORK_CONFIG", "CASEWORK_DATABASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    env: dict[str, str] = {}
    for line in WALKTHROUGHS[name]:
        command, _, comment = line.partition("#")
        words = shlex.split(command.replace("/tmp/saison", str(tmp_path / "saison")))
        if words[0] == "export":
            key, _, value = words[1].partition("=")
            env[key] = value
            continue
        assert words[0] == "casework", line
        result = CliRunner().invoke(main, words[1:], env=env)
        expected = 1 if "refused" in comment else 0
        assert result.exit_code == expected, f"{line}\n{result.output}"
