"""`casework users …`, `case reassign` and `cases handover` from the command line: French
messages, exit codes, and what they leave in the database."""

from __future__ import annotations

from click.testing import CliRunner, Result
from sqlalchemy import select, update

from casework.app import App
from casework.cli import main
from casework.models import Case, User
from tests.factories import add_case, add_user, events, row

CLAIRE = ("claire", "--name", "Claire Martin", "--email", "claire@ml.example")
PAUL = ("paul", "--name", "Paul Durand", "--email", "paul@ml.example")


def run(db_url: str, *args: str, env: dict[str, str] | None = None) -> Result:
    # CASEWORK_AS unset: the tests say who acts.
    env = {"CASEWORK_AS": None, **(env or {})}  # type: ignore[dict-item]
    return CliRunner().invoke(main, ["--database", db_url, *args], env=env, catch_exceptions=False)


def user(app: App, login: str) -> object:
    with app.db.read() as conn:
        return conn.execute(select(User.__table__).where(User.login == login)).one()


def test_the_first_user_needs_nobody_then_an_active_user_adds_the_others(
    app: App, db_url: str
) -> None:
    first = run(db_url, "users", "add", *CLAIRE, "--territory", "53, 72")
    assert first.exit_code == 0, first.output
    assert "« claire » ajouté(e) : conseiller(ère), territoire 53, 72." in first.output
    assert "Premier utilisateur" in first.output
    nobody = run(db_url, "users", "add", *PAUL)  # the terminal's login is no user here
    assert nobody.exit_code == 1
    assert "n'est pas un utilisateur de casework : voir `casework users add`" in nobody.output
    added = run(
        db_url, "users", "add", *PAUL, "--role", "manager", "--territory", "2a", "--as", "claire"
    )
    assert added.exit_code == 0, added.output
    assert "responsable d'équipe, territoire 2A" in added.output
    admin = ("eve", "--name", "Ève", "--email", "eve@ml.example", "--role", "admin")
    assert run(db_url, "users", "add", *admin, "--as", "claire").exit_code == 0
    assert (user(app, "eve").role, user(app, "paul").territory) == ("administrator", ["2A"])
    claire = user(app, "claire")
    (added_event,) = events(app, "user", claire.id)  # type: ignore[attr-defined]
    assert (added_event.trigger, added_event.actor_kind, added_event.actor) == (
        "add",
        "system",
        "installation",
    )
    assert added_event.data == {"role": "counsellor", "territory": ["53", "72"]}
    assert events(app, "user", user(app, "paul").id)[0].actor == "claire"  # type: ignore[attr-defined]


def test_what_users_add_refuses(app: App, db_url: str) -> None:
    assert run(db_url, "users", "add", *CLAIRE).exit_code == 0
    again = run(db_url, "users", "add", *CLAIRE, "--as", "claire")
    assert again.exit_code == 1
    assert (
        "« claire » existe déjà : pour modifier ses informations, `casework users update claire`."
        in again.output
    )
    as_claire = ("--as", "claire")
    corsica = run(db_url, "users", "add", *PAUL, "--territory", "53,20", *as_claire)
    assert corsica.exit_code == 2
    assert "« 20 » n'est plus un code de département : 2A ou 2B pour la Corse." in corsica.output
    wrong = run(db_url, "users", "add", *PAUL, "--territory", "99", *as_claire)
    assert "« 99 » n'est pas un code de département (de 01 à 95, 2A, 2B, 971 à 974 ou 976)." in (
        wrong.output
    )
    bad = ("paul", "--name", "Paul", "--email", "paul.ml.example", *as_claire)
    address = run(db_url, "users", "add", *bad)
    assert address.exit_code == 1
    assert "« paul.ml.example » n'est pas une adresse électronique." in address.output
    role = run(db_url, "users", "add", *PAUL, "--role", "chef", *as_claire)
    assert role.exit_code == 2
    assert "Traceback" not in role.output
    shared = ("paul", "--name", "Paul", "--email", "CLAIRE@ml.example", *as_claire)
    same = run(db_url, "users", "add", *shared)
    assert same.exit_code == 1
    assert "« CLAIRE@ml.example » est déjà l'adresse de « claire »." in same.output
    with app.db.read() as conn:
        assert conn.execute(select(User.login)).scalars().all() == ["claire"]


def test_the_old_mail_add_user_adds_and_no_longer_reactivates(app: App, db_url: str) -> None:
    added = run(db_url, "mail", "add-user", *CLAIRE)
    assert added.exit_code == 0, added.output
    assert "`casework mail add-user` est remplacé par `casework users add`." in added.output
    assert "« claire » ajouté(e)" in added.output
    add_user(app, login="admin", email="admin@ml.example", role="administrator")
    left = run(db_url, "users", "deactivate", "claire", "--reason", "départ", "--as", "admin")
    assert left.exit_code == 0, left.output
    again = run(db_url, "mail", "add-user", *CLAIRE, "--as", "admin")
    assert again.exit_code == 1
    assert "existe déjà" in again.output
    assert not user(app, "claire").active  # type: ignore[attr-defined]


def test_users_update_changes_what_is_given_and_never_the_state(app: App, db_url: str) -> None:
    add_user(app, login="admin", email="admin@ml.example", role="administrator")
    add_user(app)  # referente
    as_admin = ("--as", "admin")
    changed = run(
        db_url, "users", "update", "referente", "--email", "c.martin@ml.example", "--territory",
        "971", *as_admin,
    )  # fmt: skip
    assert changed.exit_code == 0, changed.output
    assert "« referente » modifié(e) : adresse, territoire." in changed.output
    assert "rien à changer" in run(db_url, "users", "update", "referente", *as_admin).output
    referente = user(app, "referente")
    assert (referente.email, referente.territory) == ("c.martin@ml.example", ["971"])  # type: ignore[attr-defined]
    # Not while the person follows cases: they would keep getting their mail.
    add_case(app, state="follow_up", cycle=1)
    evaluator = run(db_url, "users", "update", "referente", "--role", "evaluator", *as_admin)
    assert evaluator.exit_code == 1
    assert (
        "« referente » suit encore 1 dossier en cours : transférez-le d'abord "
        "(`casework cases handover --from referente --to IDENTIFIANT`)." in evaluator.output
    )
    assert user(app, "referente").role == "counsellor"  # type: ignore[attr-defined]
    (update,) = [e for e in events(app, "user", referente.id) if e.trigger == "update"]  # type: ignore[attr-defined]
    assert update.data == {"fields": ["email", "territory"], "territory": ["971"]}
    unknown = run(db_url, "users", "update", "personne", "--name", "X", *as_admin)
    assert "Utilisateur « personne » inconnu : voir `casework users list`." in unknown.output


def test_users_list_and_show_give_the_caseload(app: App, db_url: str) -> None:
    add_user(app)  # referente
    add_user(app, login="paul", email="paul@ml.example", role="manager")
    for state, cycle in (("follow_up", 1), ("follow_up", 2), ("consent_asked", 0)):
        add_case(app, state=state, cycle=cycle)
    add_case(app, state="closed")  # ended: not in the caseload
    add_case(app, group="control", state="outcome_tracking")
    listed = run(db_url, "users", "list").output
    lines = listed.splitlines()
    assert lines[0].split() == ["Identifiant", "Nom", "Rôle", "Territoire", "Dossiers", "État"]
    words = [" ".join(line.split()) for line in lines[1:]]
    assert words == [
        "paul Claire Martin responsable d'équipe non précisé 0 actif(ve)",
        "referente Claire Martin conseiller(ère) non précisé 4 actif(ve)",
    ]
    managers = run(db_url, "users", "list", "--role", "manager").output
    assert "paul" in managers
    assert "referente" not in managers
    shown = run(db_url, "users", "show", "referente").output
    assert "referente — Claire Martin <claire.martin@ml.example>" in shown
    assert "Rôle : conseiller(ère) ; territoire : non précisé" in shown
    assert "Dossiers en cours : 4" in shown
    assert (
        "    groupe test : 3\n      Suivi mensuel : 2\n      Consentement à recueillir : 1\n"
        "    groupe témoin : 1\n      Suivi des résultats (groupe témoin) : 1\n" in shown
    )
    assert run(db_url, "users", "show", "personne").exit_code == 1


def test_deactivating_from_the_command_line(app: App, db_url: str) -> None:
    add_user(app)  # referente
    add_user(app, login="paul", email="paul@ml.example")
    add_user(app, login="admin", email="admin@ml.example", role="administrator")
    ids = [add_case(app, state="follow_up", cycle=1) for _ in range(2)]
    leave = ("users", "deactivate", "referente", "--reason", "départ", "--as", "admin")
    refused = run(db_url, *leave)
    assert refused.exit_code == 1
    assert "« referente » suit encore 2 dossiers en cours : indiquez qui les reprend" in (
        refused.output
    )
    assert "--reason" in run(db_url, "users", "deactivate", "referente", "--as", "admin").output
    evaluator = add_user(app, login="eva", email="eva@ml.example", role="evaluator")
    to_eva = run(db_url, *leave, "--to", "eva")
    assert "« eva » ne peut pas suivre de dossiers (rôle : évaluateur(trice))." in to_eva.output
    assert evaluator
    assert user(app, "referente").active  # type: ignore[attr-defined]
    done = run(db_url, *leave, "--to", "paul")
    assert done.exit_code == 0, done.output
    assert done.output.splitlines() == [
        "« referente » est désactivé(e).",
        "2 dossiers confiés à « paul ».",
        "Aucun lien encore valable à révoquer.",
    ]
    assert [row(app, Case, i).referent for i in ids] == ["paul", "paul"]
    # She can no longer act; shown as she is, with her history.
    contact = ("case", "fire", str(ids[0]), "record_contact", "-d", "channel=phone")
    acting = run(db_url, *contact, "-d", "duration_min=5", "--as", "referente")
    assert "« referente » est un utilisateur désactivé" in acting.output
    shown = run(db_url, "users", "show", "referente").output
    assert "État : désactivé(e)" in shown
    assert (
        "désactivé(e) : départ ; 2 dossiers confiés à « paul » ; aucun lien encore valable à "
        "révoquer (par admin)" in shown
    )
    assert "désactivé(e)" in run(db_url, "users", "list").output
    again = run(db_url, *leave)
    assert "« referente » est déjà désactivé(e)." in again.output
    back = run(db_url, "users", "reactivate", "referente", "--reason", "retour", "--as", "admin")
    assert back.output == "« referente » est réactivé(e).\n"
    assert user(app, "referente").active  # type: ignore[attr-defined]
    assert row(app, Case, ids[0]).referent == "paul"  # her cases do not come back by themselves
    assert "réactivé(e) : retour (par admin)" in run(db_url, "users", "show", "referente").output


def test_case_reassign_and_cases_handover(app: App, db_url: str) -> None:
    add_user(app)  # referente
    add_user(app, login="paul", email="paul@ml.example")
    add_user(app, login="anne", email="anne@ml.example")
    first, second, third = (add_case(app, state="follow_up", cycle=1) for _ in range(3))
    add_case(app, state="closed")
    moved = run(
        db_url, "case", "reassign", str(first), "--to", "paul", "--reason", "congé", "--as", "anne"
    )
    assert moved.exit_code == 0, moved.output
    assert moved.output.splitlines() == [
        f"Dossier {first} confié à « paul » (auparavant : « referente »).",
        "Les liens envoyés à « referente » pour ce dossier sont révoqués.",
        "Version du dossier : 2.",
    ]
    same = run(db_url, "case", "reassign", str(first), "--to", "paul", "--as", "anne")
    assert same.exit_code == 1
    assert f"Dossier {first} : « paul » en est déjà le référent." in same.output
    closed = run(db_url, "case", "reassign", str(first + 3), "--to", "paul", "--as", "anne")
    assert f"Dossier {first + 3} : il est clos ; son référent ne change plus." in closed.output
    late = ("case", "reassign", str(second), "--to", "paul", "--expected-version", "9")
    assert "a été modifié entre-temps" in run(db_url, *late, "--as", "anne").output
    history = run(db_url, "history", str(first)).output
    (line,) = [line for line in history.splitlines() if "Changer de référent" in line]
    assert line.split()[2] == "anne"
    assert "Changer de référent (Suivi mensuel)" in line
    assert line.endswith(
        "(Nouveau référent (identifiant) : paul ; Motif : congé ; ancien référent : referente)"
    )

    handover = ("cases", "handover", "--from", "referente", "--to", "paul", "--as", "anne")
    done = run(db_url, *handover)
    assert done.exit_code == 0, done.output
    assert "2 dossiers confiés à « paul » (référent précédent : « referente »)." in done.output
    assert row(app, Case, second).referent == row(app, Case, third).referent == "paul"
    again = run(db_url, *handover)
    assert "« referente » ne suit aucun dossier en cours : rien à transférer." in again.output
    typo = run(db_url, "cases", "handover", "--from", "referentte", "--to", "paul", "--as", "anne")
    assert typo.exit_code == 1
    assert "Utilisateur « referentte » inconnu" in typo.output
    nobody = run(db_url, "cases", "handover", "--from", "paul", "--to", "personne", "--as", "anne")
    assert "« personne » n'est pas un utilisateur de casework." in nobody.output
    unknown_actor = run(db_url, "cases", "handover", "--from", "paul", "--to", "anne")
    assert "n'est pas un utilisateur de casework" in unknown_actor.output
    assert row(app, Case, second).referent == "paul"


def test_commands_that_act_need_an_active_user(app: App, db_url: str) -> None:
    add_user(app)
    add_user(app, login="paul", email="paul@ml.example")
    case_id = add_case(app, state="follow_up", cycle=1)
    commands = [
        ("users", "update", "paul", "--name", "P"),
        ("users", "deactivate", "paul", "--reason", "x"),
        ("users", "reactivate", "paul"),
        ("case", "reassign", str(case_id), "--to", "paul"),
        ("cases", "handover", "--from", "referente", "--to", "paul"),
    ]
    for command in commands:
        refused = run(db_url, *command, "--as", "inconnu")
        assert refused.exit_code == 1, command
        assert "« inconnu » n'est pas un utilisateur de casework" in refused.output, command
    assert row(app, Case, case_id).version == 1


def test_nobody_locks_everyone_out(app: App, db_url: str) -> None:
    """The last active user cannot leave, and only an empty table lets someone be added by
    nobody: deactivating everyone used to reopen the door to anyone."""
    assert run(db_url, "users", "add", *CLAIRE).exit_code == 0
    last = run(db_url, "users", "deactivate", "claire", "--reason", "départ", "--as", "claire")
    assert last.exit_code == 1
    assert "« claire » est le dernier utilisateur actif" in last.output
    with app.db.transaction() as conn:  # as if it had happened before this rule
        conn.execute(update(User).where(User.login == "claire").values(active=False))
    anyone = run(db_url, "users", "add", *PAUL)
    assert anyone.exit_code == 1
    assert "Premier utilisateur" not in anyone.output
