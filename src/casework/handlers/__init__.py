"""What happens on a transition: guards (may it happen?) and handlers (what it also changes).

Importing this package registers every bundled guard and handler in `registry`; the workflow
YAML refers to them by function name.
"""

from casework.handlers import assessment, case, liaison, withdrawal
from casework.handlers.registry import Registry, registry

__all__ = ["Registry", "assessment", "case", "liaison", "registry", "withdrawal"]
