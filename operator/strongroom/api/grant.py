"""Grant: the issued, time-bound access to one Account, delivered as a Secret in the Grant's namespace.

Created by the operator from an approved AccessRequest (and owned by it), or directly by an admin
for standing access.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import ConfigDict, Field

from strongroom.api.common import (
    AGE_COLUMN,
    MAX_DURATION,
    AccountRef,
    ApiModel,
    Condition,
    CrdOptions,
    GroupName,
    History,
    ObjectName,
    PrinterColumn,
    Reason,
    Resource,
    Signature,
    Time,
    UserName,
    cel,
    cel_never_cleared,
    list_map,
    validations,
)
from strongroom.api.phases import GRANT_TRANSITIONS, GrantPhase, cel_transition_rule

MAX_GROUPS = 128
MAX_NAME = 63  # a Grant's name is used as a label value


class Subject(ApiModel):
    """Who the access is for."""

    user: UserName = Field(description="The user name the access is for.")
    groups: list[GroupName] = Field(
        default_factory=list, max_length=MAX_GROUPS, description="The user's groups when access was granted."
    )


class GrantSource(ApiModel):
    """Where the Grant came from: an AccessRequest, or an admin directly."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel("self.direct != has(self.accessRequest)", "a Grant comes from either an accessRequest or is direct")
        )
    )

    access_request: ObjectName | None = Field(
        None, description="The AccessRequest (same namespace) this Grant was issued for."
    )
    uid: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="The uid of that AccessRequest: the Grant belongs to that very object, not to a namesake."
    )
    direct: bool = Field(False, description="True for standing access granted directly by an admin.")


class GrantSpec(ApiModel):
    """What access is granted, to whom, and when. Immutable."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel("self == oldSelf", "the spec of a Grant is immutable"),
            cel("self.notBefore < self.notAfter", "notAfter must be after notBefore", field_path=".notAfter"),
            cel(f"self.notAfter - self.notBefore <= duration('{int(MAX_DURATION.total_seconds())}s')",
                f"a Grant may last at most {MAX_DURATION.days}d", field_path=".notAfter"),
        )
    )

    account: AccountRef = Field(description="The Account granted.")
    subject: Subject = Field(description="Who the access is for.")
    not_before: Time = Field(description="When the Secret is written.")
    not_after: Time = Field(description="When the Secret is deleted.")
    secret_name: ObjectName = Field(description="The Secret (in the Grant's namespace) that delivers the credential.")
    source: GrantSource = Field(description="Where the Grant came from.")
    approved_by: list[UserName] = Field(
        default_factory=list, max_length=16,
        description="For a Grant issued for a request: the approvers whose reviews were counted.",
    )
    policy_hash: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="For a Grant issued for a request: a hash of the Safe policy it was decided under."
    )
    issued_by: UserName | None = Field(
        None, description="For a direct Grant: stamped at admission by the webhook from the authenticated user."
    )
    issued_by_groups: list[GroupName] = Field(
        default_factory=list, max_length=MAX_GROUPS,
        description="For a direct Grant: the issuer's groups, stamped at admission (their authority is asked with "
        "them).",
    )
    issued_by_signature: Signature | None = Field(
        None, description="Stamped at admission by the webhook: the operator's signature over issuedBy."
    )


_RECORDED = ("secretWrittenAt", "secretDeletedAt", "secretUid", "endedAt", "endedReason")


class GrantStatus(ApiModel):
    """Where the Grant stands; written by the operator."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(cel_transition_rule(GRANT_TRANSITIONS), "this phase change is not allowed", field_path=".phase"),
            cel_never_cleared(_RECORDED, "recorded times are never cleared"),
        )
    )

    phase: GrantPhase = Field(GrantPhase.SCHEDULED, description="Scheduled, Active, Expired, Revoked or Released.")
    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=16,
        description="Details of the current state.",
        json_schema_extra=list_map("type"),
    )
    secret_written_at: Time | None = Field(None, description="When the Secret was (last) written.")
    secret_uid: Annotated[str, Field(max_length=64)] | None = Field(
        None, description="The uid of the Secret the operator delivered: it withdraws that very object, never a "
        "namesake."
    )
    secret_deleted_at: Time | None = Field(None, description="When the Secret was deleted.")
    ended_at: Time | None = Field(None, description="When the Grant reached a terminal phase.")
    ended_reason: Reason | None = Field(
        None, description="Why it ended, e.g. Expired, Released, SafeBlocked, MembershipLost, Deleted."
    )
    history: History


class Grant(Resource):
    """A Grant: issued, time-bound access to one Account, delivered as a Secret in its namespace."""

    crd: ClassVar[CrdOptions] = CrdOptions(
        plural="grants",
        singular="grant",
        short_names=("grant",),
        printer_columns=(
            PrinterColumn("Account", ".spec.account.name"),
            PrinterColumn("Subject", ".spec.subject.user"),
            PrinterColumn("Phase", ".status.phase"),
            PrinterColumn("Not Before", ".spec.notBefore"),
            PrinterColumn("Not After", ".spec.notAfter"),
            PrinterColumn("Secret", ".spec.secretName", priority=1),
            AGE_COLUMN,
        ),
        name_limit=MAX_NAME,
        selectable_fields=(".spec.account.namespace", ".spec.account.name", ".spec.subject.user", ".status.phase"),
    )

    kind: Literal["Grant"] = Field("Grant", description="Grant.")
    spec: GrantSpec = Field(description="What access is granted.")
    status: GrantStatus = Field(default_factory=GrantStatus, description="Where the Grant stands.")
