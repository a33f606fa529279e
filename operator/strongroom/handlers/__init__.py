"""kopf handlers: thin shells that read, decide with `strongroom.policy`, and write.

Importing this package registers every handler with kopf.
"""

from strongroom.handlers import accessrequest, admission, grant, login, startup, vault

__all__ = ["accessrequest", "admission", "grant", "login", "startup", "vault"]
