"""The Strongroom API as pydantic models: the single source of truth for the CRDs."""

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.common import Resource
from strongroom.api.grant import Grant
from strongroom.api.safe import Safe

# In the order the CRDs are installed and documented.
KINDS: tuple[type[Resource], ...] = (Safe, Account, AccessRequest, Grant)

__all__ = ["KINDS", "AccessRequest", "Account", "Grant", "Resource", "Safe"]
