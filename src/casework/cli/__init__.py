"""The `casework` command. Messages are in French: counsellors and administrators read them."""

from __future__ import annotations

from casework.cli.main import main

__all__ = ["main"]
