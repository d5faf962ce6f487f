"""The engine: the only code that changes a workflow entity's state (`engine` decides,
`writing` writes, `creation` inserts new rows), what guards and handlers receive (`context`),
how rows are read (`entities`) and written in batches (`fastsql`)."""

from casework.engine.engine import BatchResult, Engine
from casework.engine.writing import Transitioned

__all__ = ["BatchResult", "Engine", "Transitioned"]
