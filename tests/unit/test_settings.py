"""Settings: defaults < TOML file < environment; mistakes are reported, not ignored."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from casework.settings import EvaluationSettings, SettingsError, load_settings


def test_defaults_use_embedded_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.database.url == "sqlite:///var/casework.sqlite3"
    assert settings.logging.level == "INFO"
    assert (settings.paths.workflows / "case.yaml").is_file()


def test_file_then_environment(tmp_path: Path) -> None:
    config = tmp_path / "casework.toml"
    config.write_text(
        '[database]\nurl = "postgresql+psycopg://db/casework"\nbusy_timeout_ms = 5000\n'
        '[logging]\nlevel = "DEBUG"\n',
        encoding="utf-8",
    )
    settings = load_settings(
        config, environ={"CASEWORK_LOGGING_LEVEL": "WARNING", "CASEWORK_DATABASE_ECHO": "oui"}
    )
    assert settings.database.url == "postgresql+psycopg://db/casework"
    assert settings.database.busy_timeout_ms == 5000
    assert settings.database.echo is True
    assert settings.logging.level == "WARNING"


def test_config_path_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "other.toml"
    config.write_text('[paths]\nworkflows = "/srv/workflows"\n', encoding="utf-8")
    settings = load_settings(environ={"CASEWORK_CONFIG": str(config)})
    assert settings.paths.workflows == Path("/srv/workflows")


@pytest.mark.parametrize(
    ("content", "key", "reason"),
    [
        ("[database]\nurll = 'x'\n", "database.urll", "clé inconnue"),
        ("[databse]\nurl = 'x'\n", "databse", "section inconnue"),
        ("[database]\nbusy_timeout_ms = 'long'\n", "database.busy_timeout_ms", "valeur invalide"),
        ("[database\n", "-", "TOML illisible"),
        (
            "[inbound]\nsender_policy = 'trust'\n",
            "inbound.sender_policy",
            "attendu require, token-only, off",
        ),
    ],
)
def test_mistakes_are_reported(tmp_path: Path, content: str, key: str, reason: str) -> None:
    config = tmp_path / "casework.toml"
    config.write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError) as error:
        load_settings(config, environ={})
    assert error.value.key == key
    assert reason in error.value.french()


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="introuvable"):
        load_settings(tmp_path / "nope.toml", environ={})
    with pytest.raises(SettingsError, match="c'est un dossier"):  # not a traceback
        load_settings(tmp_path, environ={})


def test_a_bad_environment_value_names_the_variable() -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(environ={"CASEWORK_DATABASE_BUSY_TIMEOUT_MS": "soon"})
    assert error.value.key == "CASEWORK_DATABASE_BUSY_TIMEOUT_MS"


def test_short_link_keys_are_refused_at_load_naming_where_they_come_from(tmp_path: Path) -> None:
    config = tmp_path / "casework.toml"
    config.write_text('[mail]\nlink_keys = "x"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as from_file:
        load_settings(config, environ={})
    message = from_file.value.french()
    assert message.startswith(f"Configuration invalide ({config}) : mail.link_keys : ")
    assert "la clé n° 1 est trop courte (1 octet, il en faut au moins 32)" in message
    assert "python -c 'import secrets; print(secrets.token_urlsafe(32))'" in message
    good = "k" * 32
    with pytest.raises(SettingsError) as from_environment:
        load_settings(environ={"CASEWORK_MAIL_LINK_KEYS": f"{good},short-secret"})
    message = from_environment.value.french()
    assert "(CASEWORK_MAIL_LINK_KEYS) : mail.link_keys : la clé n° 2 est trop courte" in message
    assert "short-secret" not in message  # a key is never shown
    assert load_settings(environ={"CASEWORK_MAIL_LINK_KEYS": good}).mail.link_keys == good
    assert load_settings(environ={}).mail.link_keys == ""  # none: mail refuses to start


def test_the_documented_placeholder_for_link_keys_is_refused() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    placeholder = re.search(r'^link_keys = "([^"]*)"', guide, re.MULTILINE)
    assert placeholder is not None
    with pytest.raises(SettingsError, match="link_keys"):
        load_settings(environ={"CASEWORK_MAIL_LINK_KEYS": placeholder.group(1)})


def test_the_pseudonym_key_is_checked_like_the_link_keys_and_never_shown() -> None:
    guide = (Path(__file__).parents[2] / "docs" / "configuration.md").read_text(encoding="utf-8")
    placeholder = re.search(r'^pseudonym_key = "([^"]*)"', guide, re.MULTILINE)
    assert placeholder is not None
    for short in (placeholder.group(1), "court-secret"):
        with pytest.raises(SettingsError) as refused:
            load_settings(environ={"CASEWORK_EVALUATION_PSEUDONYM_KEY": short})
        assert "evaluation.pseudonym_key : la clé est trop courte" in refused.value.french()
        assert short not in refused.value.french()
    good = "k" * 32
    assert load_settings(environ={"CASEWORK_EVALUATION_PSEUDONYM_KEY": good}).evaluation == (
        EvaluationSettings(pseudonym_key=good)
    )
    assert load_settings(environ={}).evaluation.pseudonym_key == ""  # none: no export
