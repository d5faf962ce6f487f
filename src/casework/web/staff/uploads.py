"""Files sent to the staff pages that wait on the server for a person to confirm them (the
Imports page: a dry run first, then "Confirmer l'import").

Guarantees:
- each file is in its own folder, named by a random id (24 bytes, URL-safe): the only thing the
  browser gets back. A path never comes from the browser: an id that is not of that form is
  not looked up, and the file's own name is cut to its last part and cleaned;
- a file belongs to the session that sent it: another session, even the same person's, does
  not find it;
- it is removed once confirmed, cancelled or `web.upload_minutes` after it came (an expired one
  is removed when it is next looked up, and every upload sweeps the expired ones);
- `claim` takes it for one import only: the folder is renamed, atomically, so a second click of
  confirm (or a second process) finds nothing to import.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from casework.settings import WebSettings

_ID = re.compile(r"^[A-Za-z0-9_-]{32}$")
META = "envoi.json"
TAKEN = "pris-"  # a claimed folder's prefix: being imported, removed after
DATA = "fichier"  # the subfolder that holds the file, under its own name


@dataclass(frozen=True)
class Upload:
    id: str
    folder: Path
    name: str  # the file's name as sent, cleaned: an import records it
    session_id: int
    login: str
    received_at: datetime
    details: dict[str, Any]  # what the page keeps with it (its choices, the dry run)

    @property
    def path(self) -> Path:
        return self.folder / DATA / self.name


class UploadStore:
    def __init__(self, root: Path, lifetime: timedelta):
        self.root, self.lifetime = root, lifetime

    @classmethod
    def from_settings(cls, settings: WebSettings) -> UploadStore:
        root = Path(settings.upload_dir or Path(tempfile.gettempdir()) / "casework-envois")
        return cls(root, timedelta(minutes=settings.upload_minutes))

    def save(
        self,
        source: BinaryIO,
        name: str,
        session_id: int,
        login: str,
        now: datetime,
        details: dict[str, Any],
    ) -> Upload:
        """Keep the file `source` (read to its end) until it is confirmed or expires."""
        self.sweep(now)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        upload_id = secrets.token_urlsafe(24)
        upload = Upload(
            upload_id, self.root / upload_id, clean_name(name), session_id, login, now, details
        )
        upload.path.parent.mkdir(mode=0o700, parents=True)
        with upload.path.open("xb") as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
        self._write_meta(upload)
        return upload

    def update(self, upload: Upload, details: dict[str, Any]) -> Upload:
        """The same upload, with what the page keeps with it replaced (the dry run's result)."""
        changed = Upload(**{**upload.__dict__, "details": details})
        self._write_meta(changed)
        return changed

    def find(self, upload_id: str, session_id: int, now: datetime) -> Upload | None:
        """The upload `upload_id` of this session, still waiting; None otherwise."""
        if not _ID.match(upload_id):
            return None
        upload = self._read(self.root / upload_id)
        if upload is None or upload.session_id != session_id:
            return None
        if now - upload.received_at > self.lifetime:
            self.discard(upload)
            return None
        return upload

    def claim(self, upload: Upload) -> Upload | None:
        """The upload, taken for its import (its folder renamed); None if it was taken or
        removed already."""
        taken = self.root / f"{TAKEN}{upload.id}"
        try:
            upload.folder.rename(taken)
        except FileNotFoundError:
            return None
        return Upload(**{**upload.__dict__, "folder": taken})

    def discard(self, upload: Upload) -> None:
        shutil.rmtree(upload.folder, ignore_errors=True)

    def sweep(self, now: datetime) -> int:
        """Remove the uploads past their lifetime (and claimed folders a crash left behind)."""
        if not self.root.is_dir():
            return 0
        removed = 0
        for folder in self.root.iterdir():
            found = self._read(folder)
            # Without its description yet, a folder may be an upload being written: by its age.
            since = found.received_at.timestamp() if found else _modified(folder)
            if now.timestamp() - since > self.lifetime.total_seconds():
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        return removed

    def _write_meta(self, upload: Upload) -> None:
        meta = {
            "name": upload.name,
            "session_id": upload.session_id,
            "login": upload.login,
            "received_at": upload.received_at.isoformat(),
            "details": upload.details,
        }
        staged = upload.folder / f"{META}.tmp"
        staged.write_text(json.dumps(meta), encoding="utf-8")
        staged.replace(upload.folder / META)  # whole or not at all

    @staticmethod
    def _read(folder: Path) -> Upload | None:
        try:
            meta = json.loads((folder / META).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        upload_id = folder.name.removeprefix(TAKEN)
        return Upload(
            upload_id,
            folder,
            meta["name"],
            meta["session_id"],
            meta["login"],
            datetime.fromisoformat(meta["received_at"]),
            meta["details"],
        )


def _modified(folder: Path) -> float:
    try:
        return folder.stat().st_mtime
    except OSError:
        return 0.0


def clean_name(given: str) -> str:
    """A browser's file name as a plain name: its last part (some send a whole Windows path),
    without control characters or separators, at most 200 characters; "fichier" if nothing is
    left."""
    last = re.split(r"[\\/]", given or "")[-1]
    cleaned = "".join(c for c in last if c.isprintable()).strip()[-200:]
    return "fichier" if cleaned in ("", ".", "..") else cleaned
