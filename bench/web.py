"""The staff pages under load: a real `casework serve`, 50 counsellors signed in at once.

1. Set-up (not timed): N cases (default 100,000; generated people, `intake.synthetic`) and C
   counsellors (default 50) with a password. Half the cases are in the test group, shared
   among the counsellors; they are taken through the season with the engine (`fire_many`,
   set-based): consent asked, given or declined, monthly cycles with or without this month's
   contact, monitoring, ruptures. The control half tracks outcomes only.
2. `casework serve` is started as a user would (its own process, mail off, timers sweeping),
   on SQLite, then on PostgreSQL (a throwaway cluster unless `--database` names one).
3. U simulated counsellors (default 50) sign in once each (Argon2 is slow by design: not
   timed), then, each with a think time between requests, load their dashboard, their case
   list (a page, sometimes filtered by state), the page of one of their cases, and record a
   monthly contact through the case page's form (its CSRF value, the version it was shown at:
   the POST is timed, its 303 checked). In the same run, from the same users: `/health`, a
   page served by the same stack with no database work (the floor the ratios are taken to).
   Reported: p50/p95/p99 per page and their ratio to the floor, requests per second, errors,
   the server's CPU time a request, and its RSS at start, after the warm-up and at the end.
4. Then one of them alone, with no think time: each page's latency on an otherwise idle
   server, and the server's CPU time for each kind of request (read from /proc: figures the
   shared machine's load changes far less than latencies).

    .venv/bin/python bench/web.py                        # SQLite and a throwaway PostgreSQL
    .venv/bin/python bench/web.py --databases sqlite     # SQLite only
    .venv/bin/python bench/web.py --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

# ruff: noqa: E402 - the import path is mended before the imports below

from __future__ import annotations

import os
import sys

# bench/transitions.py has the name of the `transitions` library: keep this folder off the
# import path; the throwaway cluster lives in the repository's tests/.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse
import asyncio
import random
import re
import resource
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2 as httpx
from bench.timers import fresh_database, machine
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from tests.pg_cluster import Cluster

from casework.accounts.passwords import hash_password
from casework.actors import Actor
from casework.app import build_app
from casework.clock import SystemClock
from casework.demo.mailcatcher import free_port
from casework.intake.synthetic import generate
from casework.migrate import upgrade
from casework.models import Beneficiary, Contract, User
from casework.settings import MailSettings, Settings
from casework.territory import departement_of

PASSWORD = "une phrase de passe pour le banc d'essai"
BATCH = 2_000
CHUNK = 10_000
# What a simulated counsellor does next, and how often.
MIX = {"static": 10, "dashboard": 25, "case_list": 15, "case": 35, "contact": 15}
SHOWN = {
    "static": "static (/health)",
    "dashboard": "dashboard (/)",
    "case_list": "case list (/dossiers)",
    "case": "case page (/dossiers/N)",
    "contact": "contact (POST)",
}
GOALS = {"dashboard": 100.0, "case": 100.0, "contact": 50.0}  # p99, ms
EMPLOYERS = ["Boulangerie Dupont", "Garage du Centre", "Salon Élégance", "Menuiserie Leroy"]
CONTACTABLE = ("follow_up", "monitoring", "consented", "rupture")


def settings_for(url: str) -> Settings:
    return Settings(mail=MailSettings(enabled=False)).with_database(url)


# -- set-up ---------------------------------------------------------------------------------------


def populate(url: str, n_cases: int, n_counsellors: int, seed: int) -> dict[str, list[int]]:
    """The cases and counsellors; returns each counsellor's cases one may record a contact on."""
    started = time.perf_counter()
    fresh_database(url)
    app = build_app(settings_for(url), SystemClock())
    upgrade(app.db)
    now = datetime.now(UTC)
    logins = [f"conseiller{i:02d}" for i in range(1, n_counsellors + 1)]
    secret = hash_password(PASSWORD)  # one hash for all: the same password, set-up time spared
    people = generate(n_cases, seed=seed, overlap=1.0).cma
    rng = random.Random(seed)
    start = (now - timedelta(days=200)).date()
    with app.db.transaction() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "login": login,
                    "name": f"Conseillère {i}",
                    "email": f"{login}@ml.bench.example",
                    "role": "counsellor",
                    "active": True,
                    "password_hash": secret,
                    "territory": [],
                    "created_at": now,
                }
                for i, login in enumerate(logins, 1)
            ],
        )
    test: dict[str, list[int]] = defaultdict(list)
    control: list[int] = []
    for first in range(0, n_cases, CHUNK):
        chunk = list(enumerate(people[first : first + CHUNK], first + 1))
        with app.db.transaction() as conn:
            conn.execute(
                insert(Beneficiary),
                [
                    {
                        "id": i,
                        "birth_name": p.birth_name,
                        "first_names": p.first_names,
                        "birth_date": p.birth_date,
                        "sex": p.sex,
                        "postcode": p.postcode,
                        "commune": p.commune,
                        "departement": departement_of(p.postcode),
                        "phone": f"06{i:08d}"[:10],
                        "email": f"jeune{i}@exemple.fr",
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, p in chunk
                ],
            )
            conn.execute(
                insert(Contract),
                [
                    {
                        "id": i,
                        "beneficiary_id": i,
                        "cma_number": p.key,
                        "employer_name": EMPLOYERS[i % len(EMPLOYERS)],
                        "start_date": start,
                        "planned_end_date": start + timedelta(days=730),
                        "created_at": now,
                        "updated_at": now,
                    }
                    for i, p in chunk
                ],
            )
            rows = [
                {
                    "beneficiary_id": i,
                    "contract_id": i,
                    "cohort": 2026,
                    "group": "test" if i % 2 else "control",
                    "assignment_method": "parity",
                    "referent": logins[(i // 2) % n_counsellors] if i % 2 else None,
                }
                for i, _ in chunk
            ]
            ids = app.engine.create_cases(conn, Actor.importer("bench"), rows)
        for case_id, row in zip(ids, rows, strict=True):
            (test[row["referent"]] if row["referent"] else control).append(case_id)
    contactable = season(app, test, control, rng)
    # In a transaction: on SQLite, an autocommit connection still opens one (BEGIN IMMEDIATE,
    # casework.database), which would be rolled back with the statistics.
    with app.db.transaction() as conn:
        conn.exec_driver_sql("ANALYZE")
    app.close()
    print(
        f"  set up {n_cases:,} cases, {n_counsellors} counsellors in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    return contactable


def season(
    app: Any, test: dict[str, list[int]], control: list[int], rng: random.Random
) -> dict[str, list[int]]:
    """Each counsellor's cases through the season's steps, each step set-based by counsellor
    (the events say who acted); returns the cases in a state that takes a contact."""

    def fire(ids: list[int], trigger: str, actor: Actor, **data: Any) -> list[int]:
        done: list[int] = []
        for first in range(0, len(ids), BATCH):
            result = app.engine.fire_many("case", ids[first : first + BATCH], trigger, actor, data)
            done += [t.entity_id for t in result.applied]
        return done

    fire(control, "track_outcomes", Actor.system())
    contactable: dict[str, list[int]] = {}
    timer = Actor.timer()
    for login, ids in test.items():
        me = Actor.person(login)
        fire(ids, "ask_consent", Actor.system())
        fates = {i: rng.random() for i in ids}
        fire([i for i in ids if 0.06 <= fates[i] < 0.10], "remind_consent", timer)
        fire([i for i in ids if 0.10 <= fates[i] < 0.14], "decline", me, reason="Pas le temps.")
        # Minors without their guardian's agreement are refused: they stay to be collected.
        agreed = fire([i for i in ids if fates[i] >= 0.14], "give_consent", me, given_by="both")
        following = fire(agreed, "start_follow_up", timer)
        # How far each went: cycles 1 to 6 of the monthly follow-up, or monitoring (7).
        reached = {i: rng.randint(1, 7) for i in following}
        for cycle in range(1, 7):
            here = [i for i in following if reached[i] >= cycle]
            # Past cycles were all contacted; this month's, half of them so far.
            contacted = [i for i in here if reached[i] > cycle or rng.random() < 0.5]
            fire(
                contacted,
                "record_contact",
                me,
                channel=rng.choice(["phone", "visit", "meeting"]),
                duration_min=rng.choice([15, 30, 45]),
                difficulties=rng.choice([[], ["housing"], ["mobility", "health"]]),
                notes="Point du mois fait avec le jeune.",
            )
            fire([i for i in here if reached[i] > cycle], "next_cycle", timer)
        broken = [i for i in following if rng.random() < 0.05]
        day = (datetime.now(UTC) - timedelta(days=10)).date().isoformat()
        fire(broken, "rupture", me, rupture_date=day, initiative="employer")
        contactable[login] = following  # rupture takes a contact too
    return contactable


# -- the server -----------------------------------------------------------------------------------


def start_server(url: str, port: int, workdir: Path) -> subprocess.Popen[bytes]:
    """`casework serve` in its own process, as a deployment runs it (mail off: nothing to send
    to; no configuration file but these variables)."""
    script = Path(sys.executable).with_name("casework")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "casework.cli"]
    env = {**os.environ, "CASEWORK_DATABASE_URL": url, "CASEWORK_MAIL_ENABLED": "false"}
    env.pop("CASEWORK_CONFIG", None)  # and none in `workdir`: only these variables
    log = (workdir / f"serve-{port}.log").open("wb")
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port)], cwd=workdir, env=env, stdout=log, stderr=log
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"casework serve ended: {(workdir / log.name).read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code in (200, 503):
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("casework serve did not answer within 120 s")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """The process's CPU time so far (user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the load -------------------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
CONTACT_VERSION = re.compile(
    r'id="action-record_contact".*?name="version" value="(\d+)"', re.DOTALL
)


@dataclass
class Samples:
    timed: bool = False
    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # One user alone: the server's CPU time spent on each request (the pid), by kind.
    cpu_of: int | None = None
    cpu: dict[str, float] = field(default_factory=lambda: defaultdict(float))


async def sign_in(client: httpx.AsyncClient, login: str) -> None:
    page = await client.get("/connexion")
    csrf = CSRF.search(page.text)
    assert csrf, page.text[:500]
    done = await client.post(
        "/connexion",
        data={"csrf": csrf.group(1), "identifiant": login, "mot_de_passe": PASSWORD},
    )
    if done.status_code != 303 or done.headers.get("location") != "/":
        raise SystemExit(f"{login} could not sign in ({done.status_code})")


async def timed(
    samples: Samples, kind: str, request: Any, expected: tuple[int, ...] = (200,)
) -> httpx.Response | None:
    cpu = cpu_seconds(samples.cpu_of) if samples.cpu_of else 0.0
    started = time.perf_counter()
    response = await request
    ms = (time.perf_counter() - started) * 1000
    if samples.cpu_of:
        samples.cpu[kind] += cpu_seconds(samples.cpu_of) - cpu
    if samples.timed:
        samples.ms[kind].append(ms)
        if response.status_code not in expected:
            samples.errors[kind] += 1
    return response if response.status_code in expected else None


async def counsellor(
    client: httpx.AsyncClient,
    cases: list[int],
    pages: int,
    samples: Samples,
    until: float,
    think: float,
    rng: random.Random,
) -> None:
    kinds, weights = list(MIX), list(MIX.values())
    while time.monotonic() < until:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)
        kind = rng.choices(kinds, weights)[0]
        if kind == "static":
            # 503 too: the service saying it is behind (its beats late) is still the floor.
            await timed(samples, kind, client.get("/health"), (200, 503))
        elif kind == "dashboard":
            await timed(samples, kind, client.get("/"))
        elif kind == "case_list":
            query = {"page": rng.randint(1, pages)} if rng.random() < 0.7 else {"etat": "follow_up"}
            await timed(samples, kind, client.get("/dossiers", params=query))
        else:
            case_id = rng.choice(cases)
            page = await timed(samples, "case", client.get(f"/dossiers/{case_id}"))
            if kind == "case" or page is None:
                continue
            csrf, version = CSRF.search(page.text), CONTACT_VERSION.search(page.text)
            if csrf is None or version is None:
                samples.errors[kind] += 1  # no contact form on a case that takes one
                continue
            await asyncio.sleep(rng.uniform(0.5, 1.5) * think)  # the form is filled in
            form = {
                "csrf": csrf.group(1),
                "action": "record_contact",
                "version": version.group(1),
                "channel": "phone",
                "duration_min": str(rng.choice([10, 20, 30])),
                "difficulties": "mobility",
                "notes": "Appel du mois : tout va bien chez l'employeur.",
            }
            await timed(samples, kind, client.post(f"/dossiers/{case_id}", data=form), (303,))


async def load(
    base: str, pid: int, users: dict[str, list[int]], args: argparse.Namespace
) -> dict[str, Any]:
    rng = random.Random(args.seed)
    samples = Samples()
    clients = {
        login: httpx.AsyncClient(
            base_url=base, headers={"Origin": base}, follow_redirects=False, timeout=60
        )
        for login in users
    }
    rss = {"start": rss_mb(pid)}
    started = time.perf_counter()
    for login, client in clients.items():  # one at a time: Argon2 is slow by design
        await sign_in(client, login)
    signed_in = time.perf_counter() - started
    per_page = 50
    until = time.monotonic() + args.warmup + args.seconds
    runs = [
        counsellor(
            clients[login],
            cases,
            max(1, -(-len(cases) // per_page)),
            samples,
            until,
            args.think,
            random.Random(rng.random()),
        )
        for login, cases in users.items()
    ]

    server_cpu = {}

    async def clock() -> None:
        await asyncio.sleep(args.warmup)
        rss["warm"] = rss_mb(pid)
        server_cpu["from"] = cpu_seconds(pid)
        samples.timed = True

    cpu = resource.getrusage(resource.RUSAGE_SELF)
    await asyncio.gather(clock(), *runs)
    used = resource.getrusage(resource.RUSAGE_SELF)
    rss["end"] = rss_mb(pid)
    server_cpu["to"] = cpu_seconds(pid)
    # Then one user alone, no think time: each page's latency unloaded and the server's CPU
    # time a request (what the shared machine's load does not change much).
    alone = Samples(timed=True, cpu_of=pid)
    login, cases = next(iter(users.items()))
    pages = max(1, -(-len(cases) // per_page))
    await counsellor(clients[login], cases, pages, alone, time.monotonic() + args.alone, 0.0, rng)
    for client in clients.values():
        await client.aclose()
    client_cpu = (used.ru_utime + used.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
    return {
        "samples": samples,
        "rss": rss,
        "signed_in": signed_in,
        "client_cpu": client_cpu,
        "server_cpu": server_cpu["to"] - server_cpu["from"],
        "alone": alone,
    }


def quantiles(samples: Samples, kind: str) -> tuple[float, float, float]:
    """p50, p95, p99 of a kind's requests, in ms."""
    ms = samples.ms.get(kind, [])
    if len(ms) < 2:
        return (ms[0],) * 3 if ms else (float("nan"),) * 3
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return q[49], q[94], q[98]


def report(name: str, result: dict[str, Any], seconds: float) -> None:
    samples: Samples = result["samples"]
    alone: Samples = result["alone"]

    floor = quantiles(samples, "static")
    total = sum(len(v) for v in samples.ms.values())
    print(
        f"  {name}: {total:,} timed requests in {seconds:.0f} s ({total / seconds:,.0f}/s), "
        f"{sum(samples.errors.values())} errors; server CPU {result['server_cpu'] / seconds:.0%} "
        f"of a core, {result['server_cpu'] * 1000 / max(1, total):.1f} ms a request; load "
        f"generator CPU {result['client_cpu'] / seconds:.0%} of a core"
    )
    print(
        f"    {'page':<26}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'p50/static':>12}{'p99/static':>12}{'errors':>8}{'alone p50':>11}{'CPU ms':>8}"
    )
    for kind in MIX:
        p50, p95, p99 = quantiles(samples, kind)
        n_alone = len(alone.ms.get(kind, []))
        cpu = alone.cpu.get(kind, 0.0) * 1000 / n_alone if n_alone else float("nan")
        print(
            f"    {SHOWN[kind]:<26}{len(samples.ms.get(kind, [])):>9,}{p50:>9.1f}{p95:>9.1f}"
            f"{p99:>9.1f}{p50 / floor[0]:>12.1f}{p99 / floor[2]:>12.1f}"
            f"{samples.errors.get(kind, 0) + alone.errors.get(kind, 0):>8}"
            f"{quantiles(alone, kind)[0]:>11.1f}{cpu:>8.1f}"
        )
    goals = []
    for kind, goal in GOALS.items():
        p99 = quantiles(samples, kind)[2]
        met = "met" if p99 < goal else "NOT met"
        goals.append(f"{SHOWN[kind]} p99 {p99:.0f} < {goal:.0f} ms: {met}")
    print("    goals: " + "; ".join(goals))
    rss = result["rss"]
    print(
        f"    server RSS: {rss['start']:.0f} MB at start, {rss['warm']:.0f} MB after the "
        f"warm-up, {rss['end']:.0f} MB at the end ({rss['end'] - rss['warm']:+.0f} MB while "
        f"timed); signing in took {result['signed_in']:.1f} s"
    )


def run(name: str, url: str, args: argparse.Namespace, workdir: Path) -> None:
    print(f"{name}: {machine(url)}; load average {load_average()}", flush=True)
    contactable = populate(url, args.cases, args.counsellors, args.seed)
    users = dict(sorted(contactable.items())[: args.users])
    port = free_port()
    server = start_server(url, port, workdir)
    try:
        result = asyncio.run(load(f"http://127.0.0.1:{port}", server.pid, users, args))
    finally:
        server.terminate()
        server.wait(30)
    report(name, result, args.seconds)
    if sum(result["samples"].errors.values()) + sum(result["alone"].errors.values()):
        said = (workdir / f"serve-{port}.log").read_text(errors="replace").splitlines()
        print("    the server's log ends with:\n      " + "\n      ".join(said[-15:]))
    print(f"    load average after: {load_average()}", flush=True)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def postgres_url(given: str) -> str:
    """The database the bench may replace: `bench_web` beside the server's own `postgres`."""
    parsed = make_url(given)
    if parsed.database in (None, "", "postgres"):
        parsed = parsed.set(database="bench_web")
    return parsed.render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--counsellors", type=int, default=50)
    parser.add_argument("--users", type=int, default=50, help="concurrent simulated users")
    parser.add_argument(
        "--think",
        type=float,
        default=3.0,
        help="mean seconds between a user's requests (drawn from 0.5 to 1.5 times it)",
    )
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds, not timed")
    parser.add_argument("--seconds", type=float, default=60.0, help="seconds timed")
    parser.add_argument(
        "--alone", type=float, default=10.0, help="seconds of one user alone, no think time"
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--database", help="PostgreSQL URL of a database the bench may replace")
    args = parser.parse_args()
    args.users = min(args.users, args.counsellors)
    print(
        f"bench/web.py — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {args.cases:,} cases, "
        f"{args.counsellors} counsellors, {args.users} users, think {args.think:g} s, "
        f"warm-up {args.warmup:g} s, timed {args.seconds:g} s",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="casework-bench-web-"))
    cluster = None
    try:
        for name in args.databases.split(","):
            if name == "sqlite":
                run("SQLite", f"sqlite:///{workdir / 'web.sqlite3'}", args, workdir)
            elif name == "postgresql":
                if args.database is None:
                    cluster = Cluster()
                given = args.database or cluster.start()  # type: ignore[union-attr]
                run("PostgreSQL", postgres_url(given), args, workdir)
            else:
                raise SystemExit(f"--databases: sqlite or postgresql, not {name!r}")
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
