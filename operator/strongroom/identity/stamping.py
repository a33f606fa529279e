"""What the admission webhooks decide, as pure functions: stamp who asked, who reviewed, who issued,
or refuse with a sentence a person understands.

The kopf handlers in `strongroom.handlers.admission` only gather the facts (the Safe from the watch
stream's copy, whether the user may release or grant) and turn a `Refusal` into an admission denial.
The operator checks everything again before it acts, so a webhook answering from a copy a moment old
never lets through what the operator would refuse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from strongroom.api.accessrequest import AccessRequest, AccessRequestSpec, AccessRequestStatus, Review
from strongroom.api.grant import GrantSpec
from strongroom.api.phases import AccessRequestPhase
from strongroom.api.safe import Safe
from strongroom.identity import signing
from strongroom.policy.approvals import approval_deadline, is_approver

# Groups every authenticated user has: they say nothing about the person.
_IMPLICIT_GROUPS = frozenset({"system:authenticated"})


@dataclass(frozen=True)
class Refusal(Exception):
    """Why an admission request is refused; `code` is the HTTP status the client sees."""

    message: str
    code: int = 403

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Caller:
    """The authenticated user of an admission request (its `userInfo`)."""

    user: str
    groups: tuple[str, ...]

    @classmethod
    def from_userinfo(cls, userinfo: Mapping[str, Any]) -> Caller:
        groups = sorted(set(userinfo.get("groups") or []) - _IMPLICIT_GROUPS)
        return cls(str(userinfo.get("username", "")), tuple(groups))


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Any, where: str) -> M:
    """`data` as `model`, or a Refusal naming the first field that is wrong, in one line."""
    try:
        return model.model_validate(data)
    except ValidationError as invalid:
        error = invalid.errors()[0]
        path = ".".join([where, *(str(part) for part in error["loc"])])
        raise Refusal(f"{path}: {error['msg']}", 422) from None


def stamp_requester(
    key: bytes, namespace: str, spec: Mapping[str, Any], caller: Caller, now: datetime
) -> dict[str, Any]:
    """The spec fields to set on a new AccessRequest: the caller as requester, sealed."""
    claimed = spec.get("requester")
    if claimed and claimed != caller.user:
        raise Refusal(f"{caller.user} may not file a request as {claimed}: the requester is always the caller")
    claimed_groups = spec.get("requesterGroups")
    if claimed_groups and sorted(set(claimed_groups) - _IMPLICIT_GROUPS) != list(caller.groups):
        raise Refusal(f"requesterGroups must be {caller.user}'s own groups; leave the field out")
    if spec.get("release") or spec.get("releasedBy") or spec.get("releaseSignature"):
        raise Refusal("a new request cannot be released yet: set release on it once it is active", 422)
    stamped = {**spec, "requester": caller.user, "requesterGroups": list(caller.groups)}
    stamped.pop("requesterSignature", None)
    parsed = parse(AccessRequestSpec, stamped, "spec")
    return {
        "requester": caller.user,
        "requesterGroups": list(caller.groups),
        "requesterSignature": signing.seal_requester(key, namespace, parsed, now),
    }


def stamp_release(
    key: bytes, uid: str, old: Mapping[str, Any], new: Mapping[str, Any], caller: Caller, *,
    may_release: Callable[[], bool], now: datetime,
) -> dict[str, Any]:
    """The spec fields to set on an update: nothing but `release: true` may change, and only the
    requester or someone who may revoke Grants there may set it; who did is stamped and sealed."""
    fixed = {"release", "releasedBy", "releaseSignature"}
    if {k: v for k, v in old.items() if k not in fixed} != {k: v for k, v in new.items() if k not in fixed}:
        raise Refusal("the spec of an AccessRequest cannot change; file a new request instead", 422)
    if bool(old.get("release")):
        if not new.get("release"):
            raise Refusal("a released request cannot be un-released", 422)
        if (new.get("releasedBy"), new.get("releaseSignature")) != (old.get("releasedBy"), old.get("releaseSignature")):
            raise Refusal("who released a request is recorded once", 422)
        return {}
    if not new.get("release"):
        if new.get("releasedBy") or new.get("releaseSignature"):
            raise Refusal("releasedBy is stamped by Strongroom when release is set; leave it out", 422)
        return {}
    requester = old.get("requester")
    if caller.user != requester and not may_release():
        raise Refusal(f"only {requester} (the requester) or an admin may release this request, not {caller.user}")
    claimed = new.get("releasedBy")
    if claimed and claimed != caller.user:
        raise Refusal(f"{caller.user} may not release in {claimed}'s name: releasedBy is always the caller")
    return {"releasedBy": caller.user, "releaseSignature": signing.seal_release(key, uid, caller.user, now)}


def _without_reviews(status: Mapping[str, Any] | None) -> dict[str, Any]:
    # Through the model, so the API server's schema defaults on a first status write compare equal.
    rest = {k: v for k, v in (status or {}).items() if k != "reviews"}
    return parse(AccessRequestStatus, rest, "status").model_dump(mode="json", exclude={"reviews"})


def stamp_review(
    key: bytes,
    request: AccessRequest,
    *,
    uid: str,
    old_status: Mapping[str, Any] | None,
    new_status: Mapping[str, Any] | None,
    safe: Safe | None,
    caller: Caller,
    now: datetime,
    decided: bool = False,
) -> list[dict[str, Any]]:
    """The reviews list to store when a person (not the operator) writes the status: exactly the old
    reviews plus one new review by the caller, stamped and sealed. Anything else is refused."""
    if _without_reviews(old_status) != _without_reviews(new_status):
        raise Refusal(f"{caller.user} may only add a review; every other status field is the operator's")
    old_reviews: Sequence[Mapping[str, Any]] = (old_status or {}).get("reviews") or []
    new_reviews: Sequence[Mapping[str, Any]] = (new_status or {}).get("reviews") or []
    if list(new_reviews[: len(old_reviews)]) != list(old_reviews) or len(new_reviews) < len(old_reviews):
        raise Refusal("reviews are permanent: an existing review cannot be changed or removed", 422)
    if len(new_reviews) != len(old_reviews) + 1:
        raise Refusal("add exactly one review at a time", 422)
    added = dict(new_reviews[-1])
    _check_reviewer(request, old_reviews, added, safe=safe, caller=caller, now=now)
    if decided:
        raise Refusal("the request has already been decided; it can no longer be reviewed", 422)
    review = parse(Review, {
        **{k: v for k, v in added.items() if k in ("decision", "comment", "notAfter")},
        "user": caller.user,
        "groups": list(caller.groups),
        "time": now,
        "signature": "",
    }, f"status.reviews[{len(old_reviews)}]")
    sealed = review.model_copy(update={"signature": signing.seal_review(key, uid, review)})
    return [*old_reviews, sealed.model_dump(mode="json", by_alias=True, exclude_none=True)]


def _check_reviewer(
    request: AccessRequest,
    old_reviews: Sequence[Mapping[str, Any]],
    added: Mapping[str, Any],
    *,
    safe: Safe | None,
    caller: Caller,
    now: datetime,
) -> None:
    written_as = added.get("user")
    if written_as and written_as != caller.user:
        raise Refusal(f"{caller.user} may not write a review in {written_as}'s name")
    if safe is None:
        raise Refusal(f"the Safe of account {request.spec.account.namespace}/{request.spec.account.name} "
                      "does not exist, so nobody can approve this request", 422)
    where = f"safe {safe.name} in namespace {safe.namespace}"
    if not is_approver(safe.spec.approvers, caller.user, caller.groups):
        raise Refusal(f"{caller.user} is not an approver of {where}")
    if caller.user == request.spec.requester:
        raise Refusal(f"{caller.user} may not review their own request")
    if any(r.get("user") == caller.user for r in old_reviews):
        raise Refusal(f"{caller.user} has already reviewed this request; a review cannot be changed", 422)
    if request.status.phase != AccessRequestPhase.PENDING:
        raise Refusal(f"the request is {request.status.phase.value}, no longer Pending; it cannot be reviewed", 422)
    if now >= approval_deadline(request.created, safe.spec):
        raise Refusal("the approval timeout of this request has passed; it can no longer be reviewed", 422)
    if added.get("decision") not in ("Approve", "Deny"):
        raise Refusal("a review's decision is Approve or Deny", 422)


def stamp_issuer(
    key: bytes, namespace: str, spec: Mapping[str, Any], caller: Caller, *, may_grant: Callable[[], bool],
    now: datetime,
) -> dict[str, Any]:
    """The spec fields to set on a new direct Grant: its issuer and their groups, sealed. Grants for
    requests come from the operator only (whose writes never reach this webhook); a direct Grant
    needs the `grant` verb on the Safe of its Account (`may_grant` asks the API server)."""
    source = spec.get("source") or {}
    if source.get("accessRequest") or source.get("uid"):
        raise Refusal(f"{caller.user} may not issue a grant for a request; approved requests get theirs "
                      "from the operator")
    claimed = spec.get("issuedBy")
    if claimed and claimed != caller.user:
        raise Refusal(f"{caller.user} may not issue a grant as {claimed}: the issuer is always the caller")
    if not may_grant():
        account = spec.get("account") or {}
        raise Refusal(f"{caller.user} may not grant access to account {account.get('namespace')}/"
                      f"{account.get('name')}: it takes the `grant` verb on its Safe")
    stamped = {**spec, "issuedBy": caller.user, "issuedByGroups": list(caller.groups)}
    stamped.pop("issuedBySignature", None)
    parsed = parse(GrantSpec, stamped, "spec")
    return {"issuedBy": caller.user, "issuedByGroups": list(caller.groups),
            "issuedBySignature": signing.seal_issuer(key, namespace, parsed, now)}
