"""docs/operations.md, run as an administrator would: each block marked `operations-test` runs
as written, in order, in bash, against the throwaway PostgreSQL cluster of the test session —
the role and the database made, the schema created with the sample settings, a link key made
and accepted, a backup taken, restored into a fresh database that `casework status` reads, and
swapped in; then the service started from the shipped unit's command on the restored database.

What differs from a server, and only that: `sudo -u ROLE` runs the command as the database role
ROLE (a shim; the cluster trusts loopback connections), `systemctl` only records what it was
asked, the guide's folders are folders of the test and the socket folder is the cluster's
address."""

from __future__ import annotations

import configparser
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from casework.cli import main
from casework.demo.mailcatcher import free_port
from casework.settings import load_settings
from tests.pg_cluster import _bindir

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "operations.md"
UNIT = ROOT / "deploy" / "casework.service"
SAMPLE = ROOT / "deploy" / "casework.toml"
MARKED = re.compile(r"<!-- operations-test: ([a-z-]+) -->\n```sh\n(.*?)```", re.DOTALL)
RUN_IN_ORDER = ["postgresql", "init-db", "keys", "backup", "restore", "swap"]
DATABASES = ["casework", "casework_restored", "casework_before_restore"]
OWNER_AND_SUPERUSER = (
    "SELECT pg_get_userbyid(d.datdba), r.rolsuper FROM pg_database d "
    "JOIN pg_roles r ON r.rolname = 'casework' WHERE d.datname = 'casework'"
)
ADD_CLAIRE = 'users add claire --name "Claire Martin" --email claire@ml.example'


def guide_blocks() -> dict[str, str]:
    return dict(MARKED.findall(GUIDE.read_text(encoding="utf-8")))


def test_every_block_the_guide_says_is_run_is_run() -> None:
    assert sorted(guide_blocks()) == sorted([*RUN_IN_ORDER, "sqlite"])
    said = " ".join(GUIDE.read_text(encoding="utf-8").split()).count("*Run by the tests")
    assert said == len(guide_blocks())


@dataclass
class Server:
    """The guide's machine, in a folder: its paths, its shims, how bash reaches PostgreSQL."""

    root: Path
    env: dict[str, str]
    paths: dict[str, str]

    def run(self, script: str, **extra: str) -> subprocess.CompletedProcess[str]:
        for path, here in self.paths.items():
            script = script.replace(path, here)
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=self.root,
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"{script}\n{done.stdout}\n{done.stderr}"
        return done

    def casework(self, *args: str, **extra: str) -> str:
        line = f"sudo -u casework /opt/casework/.venv/bin/casework {shlex.join(args)}"
        return self.run(line, **extra).stdout

    def secrets(self) -> dict[str, str]:
        lines = Path(self.paths["/etc/casework"], "secrets.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if line.strip())


def make_server(root: Path, pg_url: str | None) -> Server:
    folders = {
        "/etc/casework": root / "etc",
        "/var/backups/casework": root / "backups",
        "/var/lib/casework": root / "lib",
        "/opt/casework": root / "opt",
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    bin_dir = root / "bin"
    bin_dir.mkdir()
    shims = {
        bin_dir / "sudo": '[ "$1" = -u ] && { export PGUSER="$2"; shift 2; }\nexec "$@"',
        bin_dir / "systemctl": 'echo "$*" >> "$SYSTEMCTL_LOG"',
        root / "opt" / ".venv" / "bin" / "casework": f'exec {sys.executable} -m casework "$@"',
    }
    for path, body in shims.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"#!/bin/sh\n{body}\n")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORK_", "PG"))}
    path = [str(bin_dir), env.get("PATH", "")]
    paths = {k: str(v) for k, v in folders.items()}
    if pg_url is not None:
        url = make_url(pg_url)
        path.insert(1, str(_bindir()))
        env |= {"PGHOST": url.host or "127.0.0.1", "PGPORT": str(url.port or 5432)}
        if url.password:
            env["PGPASSWORD"] = str(url.password)
        paths["/var/run/postgresql"] = env["PGHOST"]  # where the server listens
    env |= {"PATH": os.pathsep.join(path), "SYSTEMCTL_LOG": str(root / "systemctl.log")}
    return Server(root, env, paths)


def _drop_all(admin_url: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in DATABASES:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text("DROP ROLE IF EXISTS casework"))
    admin.dispose()


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    backends = os.environ.get("CASEWORK_TEST_BACKENDS", "sqlite,postgresql")
    if "postgresql" not in backends:
        pytest.skip("CASEWORK_TEST_BACKENDS leaves PostgreSQL out")
    admin_url = request.getfixturevalue("postgres_server")
    _drop_all(admin_url)
    try:
        yield make_server(tmp_path, admin_url)
    finally:
        _drop_all(admin_url)


def _read(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(query))]
    finally:
        engine.dispose()


def test_the_operations_guide_runs_as_written(server: Server, postgres_server: str) -> None:
    blocks = guide_blocks()
    settings_file = Path(server.paths["/etc/casework"], "casework.toml")
    sample = SAMPLE.read_text(encoding="utf-8")
    settings_file.write_text(
        sample.replace("/var/run/postgresql", server.paths["/var/run/postgresql"])
    )
    as_casework = make_url(postgres_server).set(username="casework", password=None)

    server.run(blocks["postgresql"])
    assert _read(postgres_server, OWNER_AND_SUPERUSER) == [("casework", False)]

    made = server.run(blocks["init-db"]).stdout
    assert "Base mise à jour : vide → " in made
    assert "Minuteurs : 0 en attente" in made
    in_casework = as_casework.set(database="casework").render_as_string(hide_password=False)
    assert _read(in_casework, "SELECT count(*) FROM cases") == [(0,)]

    server.run(blocks["keys"])
    secrets = Path(server.paths["/etc/casework"], "secrets.env")
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    keys = server.secrets()
    loaded = load_settings(settings_file, environ=keys)
    assert loaded.mail.link_keys == keys["CASEWORK_MAIL_LINK_KEYS"]
    assert len(loaded.mail.link_keys) >= 32

    # Something worth restoring: a user, then the backup, the restore and the swap.
    config = {"CASEWORK_CONFIG": str(settings_file)}
    server.casework(*shlex.split(ADD_CLAIRE), **config)
    server.run(blocks["backup"])
    assert len(list(Path(server.paths["/var/backups/casework"]).glob("casework-*.dump"))) == 1
    restored = server.run(blocks["restore"]).stdout
    assert "Minuteurs : 0 en attente" in restored
    restored_url = as_casework.set(database="casework_restored").render_as_string(False)
    assert _read(restored_url, "SELECT login FROM users") == [("claire",)]
    server.run(blocks["swap"])
    assert Path(server.env["SYSTEMCTL_LOG"]).read_text().split("\n")[:2] == [
        "stop casework",
        "start casework",
    ]
    names = {n for (n,) in _read(postgres_server, "SELECT datname FROM pg_database")}
    assert {"casework", "casework_before_restore"} <= names
    assert "casework_restored" not in names

    # The service as the unit starts it, on the restored database; then what the logs say.
    said = serve_as_the_unit_does(server, {**config, **keys})
    for line in (
        "service started: sweeping every",
        "lmtp: listening on 127.0.0.1:",
        "service stopping: finishing the current batch",
        "service stopped",
    ):
        assert line in said, said
    assert "arrêté le" in server.casework("status", **config)


def serve_as_the_unit_does(server: Server, settings: dict[str, str]) -> str:
    """The unit's ExecStart with the guide's settings (on free ports), /health and `status`
    read while it runs, then SIGTERM: what it logged."""
    port = free_port()
    env = {
        **server.env,
        **settings,
        "PGUSER": "casework",
        "CASEWORK_SERVICE_PORT": str(port),
        "CASEWORK_INBOUND_LMTP_PORT": str(free_port()),
        "CASEWORK_MAIL_SMTP_PORT": str(free_port()),
    }
    command = unit_values()["ExecStart"].replace("/opt/casework", server.paths["/opt/casework"])
    with (server.root / "service.log").open("w+") as log:
        service = subprocess.Popen(
            shlex.split(command),
            cwd=server.paths["/var/lib/casework"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            health = _wait_for_health(port)
            assert health.status_code == 200, health.text
            assert "en marche" in server.casework("status", **settings)
        finally:
            service.send_signal(signal.SIGTERM)
            # Stopped by SIGTERM, as systemd stops it: uvicorn ends by raising the signal
            # again, which systemd counts as a clean exit.
            assert service.wait(timeout=60) in (0, -signal.SIGTERM)
        log.seek(0)
        return log.read()


def _wait_for_health(port: int) -> httpx.Response:
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_the_sqlite_backup_is_read_by_casework(tmp_path: Path) -> None:
    if shutil.which("sqlite3") is None:
        raise AssertionError("the sqlite3 command is missing: scripts/test.sh installs it")
    server = make_server(tmp_path, None)
    database = f"sqlite:///{server.paths['/var/lib/casework']}/casework.sqlite3"
    server.casework("--database", database, "init-db")
    server.casework("--database", database, *shlex.split(ADD_CLAIRE))
    said = server.run(guide_blocks()["sqlite"]).stdout
    assert "Minuteurs : 0 en attente" in said
    (copy,) = Path(server.paths["/var/backups/casework"]).glob("casework-*.sqlite3")
    assert _read(f"sqlite:///{copy}", "SELECT login FROM users") == [("claire",)]


def unit_values() -> dict[str, str]:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    unit.read_string(UNIT.read_text(encoding="utf-8"))
    return {**unit["Unit"], **unit["Service"], **unit["Install"]}


def test_the_unit_runs_real_casework_commands_with_the_guides_paths() -> None:
    values = unit_values()
    assert values["User"] == values["Group"] == "casework"
    assert values["WorkingDirectory"] == "/var/lib/casework"
    assert values["Environment"] == "CASEWORK_CONFIG=/etc/casework/casework.toml"
    assert values["EnvironmentFile"] == "-/etc/casework/secrets.env"
    assert "/var/lib/casework" in values["ReadWritePaths"]
    for key, command in (("ExecStartPre", "init-db"), ("ExecStart", "serve")):
        program, *words = shlex.split(values[key])
        assert program == "/opt/casework/.venv/bin/casework"
        assert words == [command]
        assert command in main.commands  # type: ignore[attr-defined]
    guide = GUIDE.read_text(encoding="utf-8")
    for path in ("/etc/casework/secrets.env", "/etc/casework/casework.toml", "/var/lib/casework"):
        assert path in guide


def test_the_unit_passes_systemd_analyze(tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), "systemd-analyze missing: scripts/test.sh installs it"
    program = tmp_path / "casework"  # the unit names /opt/casework/.venv/bin/casework
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    unit = tmp_path / "casework.service"
    unit.write_text(UNIT.read_text().replace("/opt/casework/.venv/bin/casework", str(program)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stderr) == (0, ""), done.stderr


def test_the_sample_settings_load_as_the_guide_describes() -> None:
    settings = load_settings(SAMPLE, environ={})
    url = make_url(settings.database.url)
    assert (url.get_backend_name(), url.database, url.query["host"]) == (
        "postgresql",
        "casework",
        "/var/run/postgresql",
    )
    assert settings.inbound.lmtp_enabled
    assert not settings.inbound.imap_enabled
    assert settings.mail.from_address.endswith("@" + settings.mail.domain)
    assert settings.mail.link_keys == ""  # secrets come from secrets.env, never this file
    guide = GUIDE.read_text(encoding="utf-8")
    assert f'url = "{settings.database.url}"' in guide
    assert f"lmtp:inet:{settings.inbound.lmtp_host}:{settings.inbound.lmtp_port}" in guide
