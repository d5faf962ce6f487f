"""Reads of personal data from the command line, in the access log: every command that prints
a young person's name, contact details or free text says who read it (see `Reader`).

Who: `--as LOGIN` (or $CASEWORK_AS), checked as `acting_person` checks it; without it, the
terminal's login as it is, marked as such (`privacy.access.TERMINAL_UNCHECKED`): a read must
not start requiring a casework account where it did not.

One row per case shown (`case show`, `history`, a mail's case); one row per listing, with no
case, whatever its length: the command line it came from (filters included) says what it
showed. A list of 1,000 cases writing 1,000 rows would make the log grow with every glance at
a list, and the question the log answers for a person (who opened their file) is answered by
the per-case rows; a listing's row still says who looked at lists, when, and with which filters.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from casework.accounts.access_log import record_access
from casework.app import App
from casework.cli.main import Context, acting_person
from casework.privacy.access import TERMINAL, TERMINAL_UNCHECKED

F = TypeVar("F", bound=Callable[..., Any])

READER = "reader_login"  # the option's destination (any `--as` is left out of the command line)


def reader_option(command: F) -> F:
    """`--as LOGIN`: who reads, for the access log."""
    return click.option(
        "--as",
        READER,
        envvar="CASEWORK_AS",
        metavar="IDENTIFIANT",
        help="Qui consulte, pour le journal des consultations : un utilisateur actif (défaut : "
        "$CASEWORK_AS, sinon le compte du terminal, noté tel quel).",
    )(command)


@dataclass(frozen=True)
class Reader:
    """Who reads, checked before anything is read; `saw` records the read afterwards."""

    app: App
    login: str
    address: str

    @classmethod
    def of(cls, context: Context, login: str | None) -> Reader:
        if login is not None:
            return cls(context.app, acting_person(context.app, login).id, TERMINAL)
        return cls(context.app, getpass.getuser(), TERMINAL_UNCHECKED)

    def saw(self, case_ids: Iterable[int | None] = (None,), page: str | None = None) -> None:
        """Record the read in a short transaction of its own: call it after reading (the read
        takes no write lock) and before printing (nothing is shown unrecorded). Each case
        once; `(None,)`, the default, is a listing."""
        wanted = list(dict.fromkeys(case_ids)) or [None]
        page = page or command_line()
        now = self.app.clock.now()
        with self.app.db.transaction() as conn:
            for case_id in wanted:
                record_access(
                    conn,
                    login=self.login,
                    page=page,
                    now=now,
                    case_id=case_id,
                    address=self.address,
                )


def command_line(ctx: click.Context | None = None) -> str:
    """The command being run as typed, `--as` left out: "casework case list --cohort 2026"."""
    ctx = ctx or click.get_current_context()
    names = []
    level: click.Context | None = ctx
    while level is not None and level.parent is not None:
        names.append(level.info_name or "")
        level = level.parent
    words = ["casework", *reversed(names)]
    for param in ctx.command.params:
        name = param.name
        if name is None or "--as" in param.opts or name not in ctx.params:
            continue
        if ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            continue
        words += _typed(param, ctx.params[name])
    return " ".join(words)


def _typed(param: click.Parameter, value: Any) -> list[str]:
    values = value if isinstance(value, tuple | list) else (value,)
    if isinstance(param, click.Argument):
        return [str(v) for v in values]
    flag = max(param.opts, key=len)
    if isinstance(param, click.Option) and param.is_flag:
        return [flag] if value else []
    return [w for v in values for w in (flag, str(v))]
