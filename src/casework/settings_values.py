"""A setting's value as its declared type, from TOML or from an environment variable (text)."""

from __future__ import annotations

import types
import typing
from pathlib import Path

from casework.errors import CaseworkError


def convert(hint: object, raw: object, source: str, key: str) -> object:
    target = hint
    if isinstance(hint, types.UnionType):  # e.g. `int | None`
        target = next(a for a in typing.get_args(hint) if a is not type(None))
    try:
        if target is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "on", "oui"}:
                return True
            if text in {"0", "false", "no", "off", "non"}:
                return False
            raise ValueError(raw)
        if target is int:
            if isinstance(raw, bool):
                raise ValueError(raw)
            return int(raw)  # type: ignore[call-overload]
        if target is float:
            return float(raw)  # type: ignore[arg-type]
        if target is Path:
            return Path(str(raw)).expanduser()
        if target is str:
            if not isinstance(raw, str):
                raise ValueError(raw)
            return raw
    except (TypeError, ValueError):
        raise _error(source, key, f"valeur invalide {raw!r}") from None
    raise _error(source, key, f"type non géré {hint!r}")


def _error(source: str, key: str, reason: str) -> CaseworkError:
    from casework.settings import SettingsError  # the settings module imports this one

    return SettingsError(source, key, reason)
