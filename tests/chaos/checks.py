"""The chaos run's invariants, read straight from the database and from what the relay received.

Each check says what a lost or doubled piece of work would look like, and looks for it:

- transitions: each case's and sheet's events have versions 1..n with no gap or duplicate, each
  starts where the previous ended, the row's state and version are those of its last event, and
  its state entry (`entered_version`) is that of its last non-internal event;
- timers: each state entry set exactly the timers its state declares, due when the calendar
  says; each transition fired by a timer has exactly one fired timer of that state entry, and
  each fired timer exactly one transition; each discarded timer one event saying why; a
  cancelled timer's state was left; a pending one belongs to the current state entry and is not
  due yet; none failed or retried (nothing in this season fails: a retry would be a crash seen
  as a failure);
- cycles: a case in monitoring had its six monthly cycles, a case still in follow-up as many as
  its events say;
- mail: every mail a transition declares is in the outbox for that transition's version, and no
  mail is there without its transition; every mail is sent and was received at least once, every
  copy received byte for byte the same, no message received that the outbox does not know;
- nothing stuck: no heartbeat left open but the killed processes', no connection left behind.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import text

from casework.app import App
from casework.states.definition import TransitionDef
from tests.chaos.record import SHOWN, Findings, Season, Transitions, load
from tests.chaos.world import Ledger

_CONNECTIONS = text(
    "SELECT application_name, state FROM pg_stat_activity WHERE application_name LIKE :p"
)


def check(
    app: App,
    ledger: Ledger,
    now: datetime,
    killed: set[int],
    stopped: set[int],
    application_prefix: str,
) -> Findings:
    """`killed`: pids SIGKILLed; `stopped`: pids stopped with SIGTERM at the end."""
    found = Findings()
    season = load(app)
    entries = _check_transitions(app, season, found)
    _check_timers(app, season, entries, now, found)
    _check_cycles(season, found)
    _check_mail(app, season, ledger, killed, found)
    _check_leftovers(app, season, killed, stopped, application_prefix, found)
    return found


def _check_transitions(
    app: App, season: Season, found: Findings
) -> dict[tuple[str, int, int], tuple[int, TransitionDef | None]]:
    """Checks every row's history; returns, for each event (entity, id, version), the state
    entry the row was in when it happened and the transition it was."""
    kinds = Transitions(app)
    entries: dict[tuple[str, int, int], tuple[int, TransitionDef | None]] = {}
    gaps, broken, unexplained, wrong_end = [], [], [], []
    for key, row in season.rows.items():
        chain = season.events.get(key, [])
        versions = [e.version for e in chain]
        if not chain or versions != list(range(1, len(chain) + 1)):
            gaps.append((*key, versions))
            season.set_aside.add(key)
            continue
        first = chain[0]
        if first.from_state is not None or first.to_state != kinds.definition(row).initial:
            broken.append((*key, 1))
        entry = 1
        for previous, event in itertools.pairwise(chain):
            if event.from_state != previous.to_state:
                broken.append((*key, event.version))
            transition = kinds.of(row, event)
            if transition is None:
                unexplained.append((*key, event.version, event.trigger))
            entries[(*key, event.version)] = (entry, transition)
            if transition is None or not transition.internal:
                entry = event.version
        if (row.state, row.version, row.entered_version) != (chain[-1].to_state, len(chain), entry):
            wrong_end.append((*key, row.state, row.version, chain[-1].to_state, len(chain)))
    found.expect("rows whose event versions are not 1..n (lost or doubled transition)", gaps)
    found.expect("events that do not start where the previous one ended", broken)
    found.expect("events no declared transition explains", unexplained)
    found.expect("rows whose state or version differ from the replay of their events", wrong_end)
    by_actor = Counter(e.actor_kind for chain in season.events.values() for e in chain[1:])
    found.figures["transitions"] = sum(by_actor.values())
    found.figures["transitions_by_actor"] = dict(by_actor.most_common())
    return entries


def _check_timers(
    app: App,
    season: Season,
    entries: dict[tuple[str, int, int], tuple[int, TransitionDef | None]],
    now: datetime,
    found: Findings,
) -> None:
    calendar = app.engine.timers.calendar
    kinds = Transitions(app)
    by_entry: dict[tuple[str, int, int], list[Any]] = defaultdict(list)
    for t in season.timers:
        by_entry[(t.entity, t.entity_id, t.set_version)].append(t)

    # Each state entry set exactly its state's timers (those counted from a date of the row
    # only when the row has that date), each once, due when the calendar says.
    wrong_set = []
    for key, chain in season.histories():
        row = season.rows[key]
        for event in chain:
            transition = entries[(*key, event.version)][1] if event.version > 1 else None
            if transition is not None and transition.internal:
                continue  # an internal transition enters nothing, sets nothing
            state = kinds.definition(row).states[event.to_state]
            set_here = Counter(t.trigger for t in by_entry.get((*key, event.version), []))
            declared = {d.trigger: d for d in state.timers}
            if any(n > 1 for n in set_here.values()) or not set(set_here) <= set(declared):
                wrong_set.append((*key, event.version, dict(set_here)))
                continue
            for trigger, d in declared.items():
                if d.anchor is not None:
                    continue
                timer = next(
                    (t for t in by_entry.get((*key, event.version), []) if t.trigger == trigger),
                    None,
                )
                if timer is None or timer.due_at != calendar.due_at(d.delay, event.at):
                    wrong_set.append((*key, event.version, trigger, timer and timer.due_at))
    found.expect("state entries whose timers differ from their state's", wrong_set)

    # Fired timers and the transitions fired by timers, one to one.
    fired = {
        (t.entity, t.entity_id, t.trigger, t.set_version): t
        for t in season.timers
        if t.status == "fired"
    }
    matched: Counter[int] = Counter()
    orphans = []
    for key, chain in season.histories():
        for event in chain:
            if event.actor_kind != "timer":
                continue
            entry = entries[(*key, event.version)][0]
            timer = fired.get((*key, event.trigger, entry))
            if timer is None:
                orphans.append((*key, event.version, event.trigger))
            else:
                matched[timer.id] += 1
    found.expect("transitions fired by a timer with no fired timer of that state entry", orphans)
    found.expect(
        "timers that fired more than one transition", [i for i, n in matched.items() if n > 1]
    )
    found.expect(
        "timers marked fired with no transition (lost)",
        [
            t.id
            for t in fired.values()
            if t.id not in matched and (t.entity, t.entity_id) not in season.set_aside
        ],
    )
    found.expect(
        "fired timers tried more than once, or fired before due",
        [t.id for t in fired.values() if t.attempts != 1 or t.closed_at < t.due_at],
    )

    reasons = Counter(
        e.data.get("timer") for e in season.discards if e.data.get("outcome") == "discarded"
    )
    discarded = [t for t in season.timers if t.status == "discarded"]
    found.expect(
        "discarded timers without exactly one event saying why",
        [t.id for t in discarded if reasons[t.id] != 1],
    )
    found.expect(
        "discard events for timers not discarded",
        sorted(set(reasons) - {t.id for t in discarded}),
    )
    current = {key: row.entered_version for key, row in season.rows.items()}
    found.expect(
        "timers cancelled while their state entry is still the current one (lost)",
        [
            t.id
            for t in season.timers
            if t.status == "cancelled" and current[(t.entity, t.entity_id)] == t.set_version
        ],
    )
    pending = [t for t in season.timers if t.status == "pending"]
    found.expect(
        "timers due and never fired (stuck)",
        [(t.id, t.trigger, t.run_after) for t in pending if t.run_after <= now],
    )
    found.expect(
        "pending timers of a state entry that is over",
        [t.id for t in pending if current[(t.entity, t.entity_id)] != t.set_version],
    )
    found.expect(
        "timers parked as failed",
        [(t.id, t.last_error) for t in season.timers if t.status == "failed"],
    )

    found.figures |= {
        "timers": len(season.timers),
        "timers_by_status": dict(Counter(t.status for t in season.timers).most_common()),
        "timers_fired_by_trigger": dict(Counter(t.trigger for t in fired.values()).most_common()),
    }


def _check_cycles(season: Season, found: Findings) -> None:
    wrong, cycles = [], Counter()
    for (entity, entity_id), row in season.rows.items():
        if entity != "case" or (entity, entity_id) in season.set_aside:
            continue
        chain = season.events[(entity, entity_id)]
        started = sum(e.trigger == "start_follow_up" for e in chain)
        again = sum(e.trigger == "next_cycle" and e.to_state == "follow_up" for e in chain)
        ended = sum(e.trigger == "next_cycle" and e.to_state == "monitoring" for e in chain)
        if not started:
            continue
        cycles[row.cycle] += 1
        if started > 1 or row.cycle != 1 + again or (ended and row.cycle != 6) or ended > 1:
            wrong.append((entity_id, row.state, row.cycle, started, again, ended))
    found.expect("cases whose monthly cycles do not add up", wrong)
    found.figures["cases_by_cycles"] = dict(sorted(cycles.items()))


def _check_mail(
    app: App, season: Season, ledger: Ledger, killed: set[int], found: Findings
) -> None:
    kinds = Transitions(app)
    queued: dict[tuple[str, int, int], Counter[tuple[str, str]]] = defaultdict(Counter)
    addresses: dict[tuple[Any, ...], list[str]] = defaultdict(list)
    for m in season.outbox:
        if m.version is not None:
            queued[(m.entity, m.entity_id, m.version)][(m.template, m.recipient_role)] += 1
            addresses[(m.entity, m.entity_id, m.version, m.template, m.recipient_role)] += (
                m.recipients or []
            )
    missing, stray = [], []
    for key, chain in season.histories():
        row = season.rows[key]
        case_id = row.id if key[0] == "case" else row.case_id
        for event in chain[1:]:
            transition = kinds.of(row, event)
            declared = Counter()
            if transition is not None and season.groups[case_id] != "control":
                name = kinds.definition(row).name
                declared = Counter((f"{name}/{m.template}", m.recipient) for m in transition.mails)
            got = queued.pop((*key, event.version), Counter())
            if set(got) != set(declared):
                (missing if set(declared) - set(got) else stray).append(
                    (*key, event.version, dict(got))
                )
    stray += [k for k in queued if k[:2] not in season.set_aside]  # of a version with no event
    found.expect("transitions whose declared mails are not in the outbox (lost)", missing)
    found.expect("mails in the outbox without their transition", stray)
    found.expect(
        "mails of one transition sent twice to one address (doubled)",
        [k for k, a in addresses.items() if len(a) != len(set(a))],
    )

    statuses = Counter(m.status for m in season.outbox)
    found.expect(
        "mails not sent",
        [(m.id, m.status, m.last_error) for m in season.outbox if m.status != "sent"],
    )
    sent = {m.message_id: m for m in season.outbox if m.status == "sent"}
    with ledger.lock:
        copies = {k: list(v) for k, v in ledger.copies.items()}
        unnamed = ledger.unnamed
    found.expect(
        "mails marked sent that the relay never received (lost)",
        [m.id for i, m in sent.items() if i not in copies],
    )
    found.expect(
        "messages received that are no sent mail of the outbox",
        sorted(set(copies) - set(sent))[:SHOWN],
    )
    found.expect(
        "messages resent with different bytes",
        [i for i, c in copies.items() if len({copy.sha256 for copy in c}) > 1],
    )
    found.expect(
        "messages received for other recipients than the outbox says",
        [
            i
            for i, m in sent.items()
            if {copy.recipients for copy in copies.get(i, [])} - {tuple(m.recipients)}
        ],
    )
    found.expect("messages received without a Message-ID", ["?"] * unnamed)
    # At least once: a message comes again when its first sender died before marking it sent
    # (its lease ran out, another process sent it again), or when a round outlived its lease.
    again = [c for c in copies.values() if len(c) > 1]
    found.figures |= {
        "mails": len(season.outbox),
        "mails_by_status": dict(statuses.most_common()),
        "mails_by_template": dict(Counter(m.template for m in season.outbox).most_common()),
        "messages_received": sum(len(c) for c in copies.values()),
        "mails_received_twice_or_more": len(again),
        "extra_copies": sum(len(c) - 1 for c in again),
        "extra_copies_first_sender_killed": sum(len(c) - 1 for c in again if c[0].sender in killed),
        "copies_sender_unknown": sum(copy.sender is None for c in copies.values() for copy in c),
    }


def _check_leftovers(
    app: App, season: Season, killed: set[int], stopped: set[int], prefix: str, found: Findings
) -> None:
    open_beats = {b.pid for b in season.beats if b.stopped_at is None}
    found.expect(
        "heartbeats left open by a process that was not killed", sorted(open_beats - killed)
    )
    found.expect(
        "processes stopped at the end without a clean stop and a sweep recorded",
        sorted(
            pid
            for pid in stopped
            if not any(b.pid == pid and b.stopped_at and b.last_sweep_at for b in season.beats)
        ),
    )
    # A killed client's server process ends when it finds the socket closed: give it a moment.
    deadline = time.monotonic() + 10
    while True:
        with app.db.read() as conn:
            left = conn.execute(_CONNECTIONS, {"p": f"{prefix}%"}).all()
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    found.expect("database connections left by the services", [tuple(r) for r in left])
    found.figures["heartbeats"] = len(season.beats)
