"""Files waiting on the server for a confirmation (`web/staff/uploads.py`): found by their id
and session only, taken once, removed when they expire; a browser's file name made plain."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from casework.web.staff.uploads import UploadStore, clean_name

NOW = datetime(2026, 9, 1, 8, tzinfo=UTC)


def test_an_upload_is_found_by_its_session_taken_once_and_expires(tmp_path: Path) -> None:
    store = UploadStore(tmp_path, timedelta(minutes=60))
    sent = store.save(io.BytesIO(b"a;b\n"), "contrats.csv", 7, "sophie", NOW, {"source": "cma"})
    assert sent.path.read_bytes() == b"a;b\n"
    assert sent.path.name == "contrats.csv"
    assert store.find(sent.id, 8, NOW) is None  # another session
    assert store.find("../" + sent.id[3:], 7, NOW) is None
    found = store.find(sent.id, 7, NOW + timedelta(minutes=59))
    assert found is not None
    assert found.details == {"source": "cma"}
    taken = store.claim(found)
    assert taken is not None
    assert taken.path.read_bytes() == b"a;b\n"
    assert store.claim(found) is None  # a second click
    assert store.find(sent.id, 7, NOW) is None
    store.discard(taken)
    late = store.save(io.BytesIO(b"x"), "jeunes.xlsx", 7, "sophie", NOW, {})
    assert store.find(late.id, 7, NOW + timedelta(minutes=61)) is None
    assert list(tmp_path.iterdir()) == []  # removed when found expired


def test_every_upload_sweeps_the_expired_ones(tmp_path: Path) -> None:
    store = UploadStore(tmp_path, timedelta(minutes=60))
    old = store.save(io.BytesIO(b"x"), "a.csv", 1, "sophie", NOW, {})
    new = store.save(io.BytesIO(b"y"), "b.csv", 1, "sophie", NOW + timedelta(minutes=90), {})
    assert sorted(p.name for p in tmp_path.iterdir()) == [new.id]
    assert not old.folder.exists()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("C:\\Users\\claire\\Bureau\\contrats.csv", "contrats.csv"),
        ("../../etc/passwd", "passwd"),
        ("..", "fichier"),
        ("", "fichier"),
        ("jeunes\x00\n.xlsx", "jeunes.xlsx"),
    ],
)
def test_a_browsers_file_name_is_made_plain(given: str, kept: str) -> None:
    assert clean_name(given) == kept
