"""Columns every entity driven by a workflow carries (cases and liaison sheets).

Only the engine (`casework.engine`) writes `state`, `version` and `state_since`: the version
counter is the optimistic lock that detects a concurrent change.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import UTCDateTime


class WorkflowEntity:
    state: Mapped[str] = mapped_column(String(40), index=True)
    workflow_name: Mapped[str] = mapped_column(String(40))
    # A case stays on the workflow version it started with.
    workflow_version: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The version at which the row entered its current state (internal transitions keep it).
    # Timers set on that entry carry it: a timer whose row has entered a state again since is
    # stale, even if the state has the same name and allows the same trigger.
    entered_version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    state_since: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
