"""AccessRequest: a request for time-bound access to one Account, reviewed by the Safe's approvers.

It lives in the namespace where the credential is to be delivered (the requester's own).
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from strongroom.api.common import (
    AGE_COLUMN,
    MAX_DURATION,
    AccountRef,
    ApiModel,
    Condition,
    CrdOptions,
    Duration,
    GroupName,
    History,
    ObjectName,
    PrinterColumn,
    Reason,
    Resource,
    ShortText,
    Signature,
    Time,
    UserName,
    cel,
    cel_never_cleared,
    cel_unchanged_except,
    list_map,
    validations,
    wire_names,
)
from strongroom.api.phases import ACCESS_REQUEST_TRANSITIONS, AccessRequestPhase, cel_transition_rule

MAX_REVIEWS = 32
# Requests name their Grant (same name) and label values: both must fit in 63 characters.
MAX_NAME = 63
RELEASE_FIELDS = ("release", "releasedBy", "releaseSignature")
MAX_GROUPS = 128


class RejectionReason(enum.StrEnum):
    """Why a request was rejected (status.rejectedReason), or why a policy check said no."""

    NOT_A_MEMBER = "NotAMember"
    OUTSIDE_SCHEDULE = "OutsideSchedule"
    SAFE_BLOCKED = "SafeBlocked"
    DURATION_OVER_MAXIMUM = "DurationOverMaximum"
    REASON_REQUIRED = "ReasonRequired"
    TICKET_REQUIRED = "TicketRequired"
    NAMESPACE_NOT_ALLOWED = "NamespaceNotAllowed"
    INVALID_WINDOW = "InvalidWindow"
    SCHEDULED_NOT_ALLOWED = "ScheduledNotAllowed"
    SCHEDULE_TOO_FAR_AHEAD = "ScheduleTooFarAhead"
    UNKNOWN_ACCOUNT = "UnknownAccount"
    IDENTITY_NOT_VERIFIED = "IdentityNotVerified"
    INVALID_POLICY = "InvalidPolicy"
    ACCOUNT_CHECKED_OUT = "AccountCheckedOut"
    TOO_MANY_ACTIVE_GRANTS = "TooManyActiveGrants"
    GRANT_NAME_TAKEN = "GrantNameTaken"
    SECRET_NAME_TAKEN = "SecretNameTaken"
    NOT_AUTHORIZED = "NotAuthorized"  # a direct Grant whose issuer may not grant on the Safe


class ReviewDecision(enum.StrEnum):
    APPROVE = "Approve"
    DENY = "Deny"


class TimeWindow(ApiModel):
    """A requested window of access."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel("self.start < self.end", "the window must end after it starts", field_path=".end"),
            cel(f"self.end - self.start <= duration('{int(MAX_DURATION.total_seconds())}s')",
                f"the window may be at most {MAX_DURATION.days}d long", field_path=".end"),
        )
    )

    start: Time = Field(description="When access should start (RFC 3339).")
    end: Time = Field(description="When access must end (RFC 3339).")


def _spec_schema(schema: dict[str, Any], model: type[Any]) -> None:
    # Generated from the fields, so a field added later is immutable without anyone remembering to.
    schema["x-kubernetes-validations"] = [
        cel(
            "!(has(self.duration) && has(self.window))",
            "give either duration or window, not both",
        ),
        cel_unchanged_except(wire_names(model, exclude=list(RELEASE_FIELDS)),
                             "the spec is immutable except for release"),
        cel(
            "!has(oldSelf.release) || !oldSelf.release || (has(self.release) && self.release)",
            "release cannot be undone",
            field_path=".release",
        ),
        cel_unchanged_except(["releasedBy", "releaseSignature"], "who released is recorded once",
                             when="has(oldSelf.release) && oldSelf.release"),
    ]


class AccessRequestSpec(ApiModel):
    """What is requested, for how long, and why. Immutable once created, except `release`."""

    model_config = ConfigDict(json_schema_extra=_spec_schema)

    account: AccountRef = Field(description="The Account requested (its namespace is the Safe's).")
    reason: ShortText | None = Field(None, description="Why access is needed; required by some Safes.")
    ticket: Annotated[str, Field(max_length=256)] | None = Field(
        None, description="A ticket (change, incident) justifying the request; required by some Safes."
    )
    duration: Duration | None = Field(
        None,
        description='How long access should last, counted from activation (e.g. "90m", "1h30m"). '
        "Without duration or window the Safe's defaultDuration applies.",
    )
    window: TimeWindow | None = Field(
        None, description="A fixed window instead of a duration; a later start needs the Safe's allowScheduled."
    )
    secret_name: ObjectName | None = Field(
        None, description="The name of the Secret to deliver the credential in; generated when empty."
    )
    requester: UserName | None = Field(
        None,
        description="Stamped at admission by the webhook from the authenticated user; a different value "
        "sent by the client is refused.",
    )
    requester_groups: list[GroupName] = Field(
        default_factory=list,
        max_length=MAX_GROUPS,
        description="Stamped at admission by the webhook from the authenticated user's groups.",
    )
    requester_signature: Signature | None = Field(
        None,
        description="Stamped at admission by the webhook: the operator's signature over the requester "
        "identity. A request without a valid one is never honoured.",
    )
    release: bool = Field(
        False, description="Set to true (never back) by the requester or an admin to end the access early (check-in)."
    )
    released_by: UserName | None = Field(
        None, description="Stamped at admission by the webhook when release is set: who released."
    )
    release_signature: Signature | None = Field(
        None, description="Stamped at admission by the webhook: the operator's signature over releasedBy and this "
        "request's uid. A release without a valid one is not honoured.",
    )

    @model_validator(mode="after")
    def _duration_or_window(self) -> Self:
        if self.duration is not None and self.window is not None:
            raise ValueError("give either duration or window, not both")
        return self


class Review(ApiModel):
    """An approver's decision, appended through the status subresource; permanent once written."""

    user: UserName = Field(description="The reviewer, stamped at admission from the authenticated user.")
    groups: list[GroupName] = Field(
        default_factory=list,
        max_length=MAX_GROUPS,
        description="The reviewer's groups, stamped at admission; approval by group membership uses them.",
    )
    decision: ReviewDecision = Field(description="Approve or Deny; one Deny ends the request as Denied.")
    comment: ShortText | None = Field(None, description="The reviewer's comment.")
    time: Time = Field(description="When the review was made, stamped at admission.")
    not_after: Time | None = Field(
        None, description="Narrows the end of access to this time; an approver can never widen it."
    )
    signature: Signature = Field(
        "",
        description="Stamped at admission by the webhook: the operator's signature over the review. "
        "Reviews without a valid one are not counted.",
    )


_RECORDED = (
    "notBefore",
    "notAfter",
    "grant",
    "secretName",
    "policyHash",
    "rejectedReason",
    "createdAt",
    "decidedAt",
    "activatedAt",
    "finishedAt",
    "requesterBinding",
)


class AccessRequestStatus(ApiModel):
    """Where the request stands; written by the operator, reviews appended by approvers."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                cel_transition_rule(ACCESS_REQUEST_TRANSITIONS), "this phase change is not allowed", field_path=".phase"
            ),
            cel(
                "!has(oldSelf.reviews) || (has(self.reviews) && "
                "oldSelf.reviews.all(o, self.reviews.exists(n, n == o)))",
                "reviews cannot be changed or removed",
                field_path=".reviews",
            ),
            cel_never_cleared(_RECORDED, "recorded times and references are never cleared"),
        )
    )

    phase: AccessRequestPhase = Field(
        AccessRequestPhase.PENDING,
        description="Pending, Approved, Active, Expired, Released, Revoked, Denied, TimedOut or Rejected.",
    )
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=16,
        description="Details of the current state.",
        json_schema_extra=list_map("type"),
    )
    reviews: list[Review] = Field(
        default_factory=list,
        max_length=MAX_REVIEWS,
        description="Reviews, one per approver.",
        json_schema_extra=list_map("user"),
    )
    approvals_required: int = Field(0, ge=0, description="Distinct approvals the Safe requires.")
    approvals_received: int = Field(0, ge=0, description="Valid approvals counted so far.")
    not_before: Time | None = Field(None, description="When access starts (set on approval).")
    not_after: Time | None = Field(None, description="When access ends (set on approval, possibly narrowed).")
    grant: ObjectName | None = Field(None, description="The Grant issued for this request (same namespace).")
    secret_name: ObjectName | None = Field(None, description="The Secret the credential is delivered in.")
    policy_hash: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="A hash of the Safe policy the request was decided under."
    )
    rejected_reason: Reason | None = Field(
        None,
        description="Why the request was rejected: NotAMember, OutsideSchedule, SafeBlocked, "
        "DurationOverMaximum, ReasonRequired, TicketRequired, NamespaceNotAllowed, InvalidWindow, "
        "ScheduledNotAllowed, ScheduleTooFarAhead, UnknownAccount, IdentityNotVerified, InvalidPolicy, "
        "AccountCheckedOut, TooManyActiveGrants, GrantNameTaken or SecretNameTaken.",
    )
    requester_binding: Signature | None = Field(
        None, description="The operator's record that the requester's seal was honoured for this very object "
        "(its uid); a copy of the seal on another object is not honoured.",
    )
    history: History
    created_at: Time | None = Field(
        None, description="When the request was created (its metadata.creationTimestamp), as recorded."
    )
    decided_at: Time | None = Field(None, description="When it was approved, denied, rejected or timed out.")
    activated_at: Time | None = Field(None, description="When access began.")
    finished_at: Time | None = Field(None, description="When it reached a terminal phase.")


class AccessRequest(Resource):
    """An AccessRequest: a request for time-bound access to one Account, reviewed by its Safe's approvers."""

    crd: ClassVar[CrdOptions] = CrdOptions(
        plural="accessrequests",
        singular="accessrequest",
        short_names=("areq",),
        printer_columns=(
            PrinterColumn("Account", ".spec.account.name"),
            PrinterColumn("Requester", ".spec.requester"),
            PrinterColumn("Phase", ".status.phase"),
            PrinterColumn("Approvals", ".status.approvalsReceived", "integer", "Approvals received"),
            PrinterColumn("Not After", ".status.notAfter"),
            AGE_COLUMN,
        ),
        name_limit=MAX_NAME,
        selectable_fields=(".spec.account.namespace", ".spec.account.name", ".spec.requester", ".status.phase"),
    )

    kind: Literal["AccessRequest"] = Field("AccessRequest", description="AccessRequest.")
    spec: AccessRequestSpec = Field(description="What is requested.")
    status: AccessRequestStatus = Field(default_factory=AccessRequestStatus, description="Where the request stands.")
