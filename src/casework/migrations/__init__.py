"""Alembic migrations, run by `casework init-db` (and by tests, so they are always exercised)."""
