"""The Strongroom API as pydantic models: the single source of truth for the CRDs."""

from strongroom.api.accessrequest import AccessRequest
from strongroom.api.account import Account
from strongroom.api.common import Resource
from strongroom.api.fence import LeaderFence
from strongroom.api.grant import Grant
from strongroom.api.safe import Safe

# In the order the CRDs are installed and documented.
KINDS: tuple[type[Resource], ...] = (Safe, Account, AccessRequest, Grant)
# Kinds the operator keeps for itself (nobody files them): a CRD each, outside the `strongroom` category.
OPERATOR_KINDS: tuple[type[Resource], ...] = (LeaderFence,)

__all__ = ["KINDS", "OPERATOR_KINDS", "AccessRequest", "Account", "Grant", "LeaderFence", "Resource", "Safe"]
