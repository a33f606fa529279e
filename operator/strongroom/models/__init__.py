"""The Strongroom API as pydantic models: the single source of truth for the CRDs."""

from strongroom.models.accessrequest import AccessRequest
from strongroom.models.account import Account
from strongroom.models.common import Resource
from strongroom.models.grant import Grant
from strongroom.models.safe import Safe

# In the order the CRDs are installed and documented.
KINDS: tuple[type[Resource], ...] = (Safe, Account, AccessRequest, Grant)

__all__ = ["KINDS", "AccessRequest", "Account", "Grant", "Resource", "Safe"]
