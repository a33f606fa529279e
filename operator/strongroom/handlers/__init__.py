"""kopf handlers: thin shells that read, decide with `strongroom.policy`, and write.

Importing this package registers every handler with kopf.
"""

from strongroom.handlers import admission, login, startup

__all__ = ["admission", "login", "startup"]
