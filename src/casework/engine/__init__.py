"""The engine: the only code that changes a workflow entity's state."""

from casework.engine.engine import BatchResult, Engine, Transitioned

__all__ = ["BatchResult", "Engine", "Transitioned"]
