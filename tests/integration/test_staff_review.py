"""The Rapprochement page over HTTP, on both databases: who may open it, each pair explained
field by field, accepting and rejecting one pair through `intake.matching.decide` (recorded as
`casework intake decide` records it), a pair decided meanwhile refused, accepting every pair
above a threshold after a confirmation that says how many, paging, and the CSRF check."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

from sqlalchemy import insert, select

from casework.accounts.access_log import read_access_log
from casework.app import App
from casework.french import faults
from casework.intake.linkage import Band, Pair
from casework.models.tables import DECISIONS, FILES, PROPOSALS, RECORDS
from tests.integration.test_staff_case_pages import signed_in, text_of
from tests.staff import csrf_of, staff_client, staff_user

NOW = datetime(2026, 9, 1, 8, tzinfo=UTC)


def add_pairs(app: App, probabilities: list[float], prefix: str = "") -> list[tuple[str, str]]:
    """A pair to review per probability: both imported rows, and the proposal as
    `intake match` stores it (the same explanation); returns their keys, likeliest first.
    `prefix`: in keys and the file's digest, for a database other tests use too."""
    keys = []
    with app.db.transaction() as conn:
        file_id = conn.execute(
            insert(FILES).returning(FILES.c.id),
            {
                "source": "cma",
                "name": "contrats.csv",
                "sha256": prefix.ljust(64, "0"),
                "described": "CSV",
                "records": 0,
                "rejected": 0,
                "created": 0,
                "updated": 0,
                "imported_at": NOW,
                "imported_by": "person:sophie",
            },
        ).scalar_one()
        for n, probability in enumerate(probabilities):
            cma, ml = f"CMA-{prefix}2026-{n:04d}", f"ML-{prefix}{n:05d}"
            person = {"birth_name": "MARTIN", "first_names": "Léa", "postcode": "53000"}
            for source, key, data in (
                ("cma", cma, {**person, "birth_date": "2008-05-04", "commune": "Laval"}),
                ("ml", ml, {**person, "birth_name": "MARTINS", "birth_date": "2008-04-05"}),
            ):
                conn.execute(
                    insert(RECORDS),
                    {
                        "source": source,
                        "key": key,
                        "data": data,
                        "file_id": file_id,
                        "line": n + 2,
                        "created_at": NOW,
                        "updated_at": NOW,
                    },
                )
            pair = Pair(cma, ml, probability, 1.0, Band.REVIEW, (2, 3, 2, 2), (4.5, 6.1, -1.25, 2))
            conn.execute(
                insert(PROPOSALS),
                {
                    "cma_key": cma,
                    "ml_key": ml,
                    "probability": probability,
                    "band": "review",
                    "explanation": pair.explain(),
                    "created_at": NOW,
                },
            )
            keys.append((cma, ml))
    return sorted(keys, key=lambda k: -probabilities[int(k[0][-4:])])


def proposals(app: App) -> dict[str, tuple[str, float]]:
    with app.db.read() as conn:
        rows = conn.execute(select(PROPOSALS.c.cma_key, PROPOSALS.c.band, PROPOSALS.c.probability))
        return {r.cma_key: (r.band, r.probability) for r in rows}


def decisions(app: App) -> list[tuple[str, str, bool, str]]:
    with app.db.read() as conn:
        rows = conn.execute(
            select(
                DECISIONS.c.cma_key, DECISIONS.c.ml_key, DECISIONS.c.same, DECISIONS.c.decided_by
            ).order_by(DECISIONS.c.cma_key)
        )
        return [tuple(r) for r in rows]


def proofread(page: Any) -> list[str]:
    """The faults of each piece of text of the page's main part, element by element."""
    main = page.text[page.text.index("<main") :]
    return [f for piece in re.split(r"<[^>]+>", main) for f in faults(unescape(piece))]


def decide(client: Any, page: Any, pair: tuple[str, str], verdict: str) -> Any:
    return client.post(
        "/rapprochement",
        data={
            "csrf": csrf_of(page.text),
            "contrat": pair[0],
            "jeune": pair[1],
            "decision": verdict,
            "page": "1",
        },
    )


def test_only_managers_and_administrators_open_the_queue(app: App) -> None:
    for login, role in (
        ("claire", "counsellor"),
        ("eve", "evaluator"),
        ("sophie", "manager"),
        ("alex", "administrator"),
    ):
        staff_user(app, login, role=role)
    add_pairs(app, [0.8])
    for login in ("claire", "eve"):
        client = signed_in(app, login)
        refused = client.get("/rapprochement")
        assert refused.status_code == 403
        assert "MARTIN" not in refused.text
        assert ">Rapprochement<" not in client.get("/").text  # not in the nav either
        post = client.post(
            "/rapprochement",
            data={
                "csrf": csrf_of(refused.text),
                "contrat": "CMA-2026-0000",
                "jeune": "ML-00000",
                "decision": "oui",
            },
        )
        assert post.status_code == 403
    for login in ("sophie", "alex"):
        assert signed_in(app, login).get("/rapprochement").status_code == 200
    assert staff_client(app).get("/rapprochement").headers["location"].startswith("/connexion")
    assert decisions(app) == []


def test_each_pair_is_explained_field_by_field(app: App) -> None:
    staff_user(app, "sophie", role="manager")
    add_pairs(app, [0.7239])
    page = signed_in(app, "sophie").get("/rapprochement")
    read = text_of(page)
    assert "une paire attend votre décision" in read
    assert "Contrat CMA-2026-0000 et jeune ML-00000 : probabilité 72,3 %" in read
    # Both rows side by side, how well each field agrees, and its weight in the score.
    assert "Nom de naissance MARTIN MARTINS proche (faute de frappe) +4,5" in read
    assert "Prénom Léa Léa identique +6,1" in read
    assert (
        "Date de naissance 04/05/2008 05/04/2008 un chiffre ou jour et mois inversés −1,2" in read
    )
    assert "Code postal 53000 Laval 53000 identique +2,0" in read
    assert proofread(page) == []
    with app.db.read() as conn:
        (logged,) = read_access_log(conn, login="sophie")
    assert logged.page == "/rapprochement"


def test_accepting_and_rejecting_one_pair_then_the_next(app: App) -> None:
    staff_user(app, "sophie", role="manager")
    first, second, third = add_pairs(app, [0.9, 0.8, 0.7])
    client = signed_in(app, "sophie")
    page = client.get("/rapprochement")
    done = decide(client, page, first, "oui")
    assert done.status_code == 303
    assert done.headers["location"].startswith("/rapprochement?page=1&fait=decision")
    assert decisions(app) == [(*first, True, "person:sophie")]
    assert proposals(app)[first[0]] == ("match", 1.0)
    after = client.get(done.headers["location"])
    read = text_of(after)
    assert f"Contrat {first[0]} : même personne." in read
    assert read.index(second[0]) < read.index(third[0])  # the next pair comes first
    assert first[0] not in read.split("Paires à examiner")[1]
    rejected = decide(client, after, second, "non")
    assert rejected.status_code == 303
    assert (*second, False, "person:sophie") in decisions(app)
    assert second[0] not in proposals(app)  # dropped, never proposed again
    assert "personnes différentes" in text_of(client.get(rejected.headers["location"]))
    # The page still showing the pair, clicked again: already decided, nothing written.
    again = decide(client, page, second, "oui")
    assert again.status_code == 409
    assert "n'est plus à examiner" in text_of(again)
    assert len(decisions(app)) == 2
    assert second[0] not in proposals(app)


def test_a_post_without_the_csrf_value_writes_nothing(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    (pair,) = add_pairs(app, [0.8])
    client = signed_in(app, "alex")
    client.get("/rapprochement")
    forged = client.post(
        "/rapprochement", data={"contrat": pair[0], "jeune": pair[1], "decision": "oui"}
    )
    assert forged.status_code == 403
    assert "Formulaire expiré" in forged.text
    assert decisions(app) == []
    assert proposals(app)[pair[0]][0] == "review"


def test_accepting_every_pair_above_a_threshold_after_counting_them(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    keys = add_pairs(app, [0.97, 0.95, 0.9349, 0.90, 0.6])
    client = signed_in(app, "alex")
    bad = client.get("/rapprochement", params={"seuil": "beaucoup"})
    assert bad.status_code == 422
    assert 'aria-describedby="erreur-seuil"' in bad.text
    assert "Indiquez un pourcentage entre 1 et 100" in bad.text
    shown = client.get("/rapprochement", params={"seuil": "93,4"})
    assert "3 paires atteignent une probabilité d'au moins 93,4 %" in text_of(shown)
    assert decisions(app) == []  # counting writes nothing
    # Meanwhile one of them is decided: the count shown is no longer true, nothing is accepted.
    decide(client, client.get("/rapprochement"), keys[0], "non")
    stale = client.post(
        "/rapprochement",
        data={"csrf": csrf_of(shown.text), "action": "seuil", "seuil": "93,4", "nombre": "3"},
    )
    assert stale.status_code == 409
    assert "2 paires atteignent" in text_of(stale)
    assert len(decisions(app)) == 1
    done = client.post(
        "/rapprochement",
        data={"csrf": csrf_of(shown.text), "action": "seuil", "seuil": "93,4", "nombre": "2"},
    )
    assert done.status_code == 303
    assert "2 paires acceptées : même personne." in text_of(client.get(done.headers["location"]))
    bands = proposals(app)
    assert [bands[k[0]] for k in keys[1:3]] == [("match", 1.0)] * 2
    assert [bands[k[0]][0] for k in keys[3:]] == ["review", "review"]
    assert {(d[0], d[2]) for d in decisions(app)} == {
        (keys[0][0], False),
        (keys[1][0], True),
        (keys[2][0], True),
    }


def test_the_queue_is_paged(app: App) -> None:
    staff_user(app, "sophie", role="manager")
    keys = add_pairs(app, [0.6 + n / 100 for n in range(12)])
    client = signed_in(app, "sophie")
    first = text_of(client.get("/rapprochement"))
    assert "12 paires attendent votre décision" in first
    assert keys[9][0] in first
    assert keys[10][0] not in first
    assert "Page suivante" in first
    second = text_of(client.get("/rapprochement", params={"page": "2"}))
    assert [k[0] in second for k in keys] == [False] * 10 + [True] * 2
    assert "Page précédente" in second
