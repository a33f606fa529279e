"""Safe: the policy container (a Fudo safe, a PMP resource group): who may request, who approves,
when, for how long, and where credentials may be delivered."""

from __future__ import annotations

import enum
from typing import Annotated, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from strongroom.api.common import (
    AGE_COLUMN,
    DNS1123_LABEL_PATTERN,
    LIST_SET,
    ApiModel,
    Condition,
    CrdOptions,
    Duration,
    GroupName,
    HourMinute,
    NamespaceName,
    PrinterColumn,
    Resource,
    ShortText,
    Time,
    UserName,
    cel,
    list_map,
    validations,
)

ScheduleName = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS1123_LABEL_PATTERN)]
LabelKey = Annotated[str, Field(min_length=1, max_length=317)]
LabelValue = Annotated[str, Field(max_length=63)]

MAX_MEMBERS = 100
MAX_SCHEDULES = 16
MAX_PRINCIPALS = 256


class Day(enum.StrEnum):
    MON = "Mon"
    TUE = "Tue"
    WED = "Wed"
    THU = "Thu"
    FRI = "Fri"
    SAT = "Sat"
    SUN = "Sun"

    @property
    def weekday(self) -> int:
        """0 for Monday, as datetime.weekday() counts."""
        return list(Day).index(self)


class ScheduleWindow(ApiModel):
    """A daily window on some weekdays, in the schedule's time zone."""

    days: list[Day] = Field(
        min_length=1,
        max_length=7,
        description="The weekdays (Mon..Sun) on which the window starts.",
        json_schema_extra=LIST_SET,
    )
    from_: HourMinute = Field(alias="from", description='Local start time, "HH:MM" (24-hour clock).')
    to: HourMinute = Field(
        description='Local end time, "HH:MM". A time at or before `from` ends on the next day: the '
        'window crosses midnight and belongs to the day it starts. "00:00" to "00:00" is a whole day.'
    )


class Schedule(ApiModel):
    """A named set of windows in one IANA time zone."""

    name: ScheduleName = Field(description="The name members refer to in `schedule`.")
    time_zone: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description='An IANA time zone such as "Europe/Berlin" or "UTC"; daylight saving is applied.'
    )
    windows: list[ScheduleWindow] = Field(
        min_length=1, max_length=32, description="The windows; a moment inside any of them is inside."
    )


class Member(ApiModel):
    """Users and groups who may request the Safe's accounts, optionally only for a while or when."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "(has(self.users) && size(self.users) > 0) || (has(self.groups) && size(self.groups) > 0)",
                "a member entry names at least one user or group",
            ),
            cel(
                "!has(self.validFrom) || !has(self.validUntil) || self.validFrom < self.validUntil",
                "validFrom must be before validUntil",
                field_path=".validUntil",
            ),
        )
    )

    users: list[UserName] = Field(
        default_factory=list, max_length=MAX_PRINCIPALS, description="User names, as the API server authenticates them."
    )
    groups: list[GroupName] = Field(
        default_factory=list,
        max_length=MAX_PRINCIPALS,
        description="Group names, as the API server authenticates them.",
    )
    valid_from: Time | None = Field(None, description="Membership starts at this time (inclusive).")
    valid_until: Time | None = Field(None, description="Membership ends at this time (exclusive).")
    schedule: ScheduleName | None = Field(
        None,
        description="The name of one of the Safe's schedules: requests are allowed only inside its windows, "
        "and a grant never runs past the end of the window it started in.",
    )


class Approvers(ApiModel):
    """Who may review requests. The requester never counts as an approver of their own request."""

    users: list[UserName] = Field(default_factory=list, max_length=MAX_PRINCIPALS, description="User names.")
    groups: list[GroupName] = Field(default_factory=list, max_length=MAX_PRINCIPALS, description="Group names.")


class SelectorOperator(enum.StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class LabelSelectorRequirement(ApiModel):
    """One label requirement, as in a Kubernetes LabelSelector."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.operator in ['Exists', 'DoesNotExist'] ? (!has(self.values) || size(self.values) == 0) "
                ": (has(self.values) && size(self.values) > 0)",
                "In and NotIn need values; Exists and DoesNotExist take none",
            )
        )
    )

    key: LabelKey = Field(description="The label key.")
    operator: SelectorOperator = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[LabelValue] = Field(
        default_factory=list, max_length=64, description="The values for In and NotIn; empty otherwise."
    )


class LabelSelector(ApiModel):
    """A Kubernetes label selector; all requirements must hold. An empty selector matches everything."""

    match_labels: dict[str, LabelValue] = Field(
        default_factory=dict, max_length=64, description="Labels that must be present with these values."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, max_length=32, description="Requirements that must all hold."
    )


class AllowedNamespaces(ApiModel):
    """Where the Safe's credentials may be delivered; both empty means nowhere."""

    names: list[NamespaceName] = Field(
        default_factory=list,
        max_length=MAX_PRINCIPALS,
        description="Namespaces allowed by name.",
        json_schema_extra=LIST_SET,
    )
    selector: LabelSelector | None = Field(
        None,
        description="Namespaces allowed by their labels. Absent matches none; an empty selector ({}) "
        "matches every namespace.",
    )


class SafePolicy(ApiModel):
    """How requests for the Safe's accounts are decided."""

    required_approvals: int = Field(
        1, ge=0, le=16, description="Distinct approvers needed (never the requester); 0 approves at once."
    )
    require_reason: bool = Field(False, description="Requests must give a reason.")
    require_ticket: bool = Field(False, description="Requests must name a ticket.")
    default_duration: Duration = Field("60m", description='Duration of a request that names none, e.g. "60m".')
    max_duration: Duration | None = Field(
        None, description="The longest duration or window a request may ask for; absent means no limit."
    )
    approval_timeout: Duration = Field(
        "24h", description="A request still pending this long after creation ends as TimedOut."
    )
    exclusive_checkout: bool = Field(
        False, description="At most one active grant per account at a time (check-out / check-in)."
    )
    allow_scheduled: bool = Field(False, description="Requests may ask for a window that starts later.")
    max_schedule_ahead: Duration | None = Field(
        None, description="How far ahead a requested window may start; absent means no limit."
    )
    allowed_namespaces: AllowedNamespaces = Field(
        default_factory=AllowedNamespaces,
        description="Namespaces where the Safe's credentials may be delivered (where requests may live). "
        "Empty means nowhere.",
        json_schema_extra={"default": {}},
    )
    max_active_grants_per_user: int | None = Field(
        None, ge=1, le=1000, description="How many grants of this Safe one user may hold at once; absent means no "
        "limit."
    )
    allow_standing_grants: bool = Field(
        False, description="Direct Grants (issued without a request by someone allowed to `grant` on this Safe) may "
        "name a subject who is not a member. Off: a direct Grant's subject must be a member, like a requester."
    )


def _schedule_names_known(spec: SafeSpec) -> None:
    known = {schedule.name for schedule in spec.schedules}
    for member in spec.members:
        if member.schedule is not None and member.schedule not in known:
            raise ValueError(f"member schedule {member.schedule!r} is not one of the Safe's schedules")


class SafeSpec(ApiModel):
    """The desired policy of a Safe."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!self.blocked || (has(self.blockedReason) && size(self.blockedReason) > 0)",
                "blockedReason is required when the Safe is blocked",
                field_path=".blockedReason",
            ),
            cel(
                "!has(self.members) || self.members.all(m, !has(m.schedule) || "
                "(has(self.schedules) && self.schedules.exists(s, s.name == m.schedule)))",
                "every member schedule must name one of the Safe's schedules",
                field_path=".members",
            ),
        )
    )

    description: ShortText = Field("", description="What the Safe holds and who it is for.")
    blocked: bool = Field(
        False, description="Blocks the Safe: no new grants, and every active grant of its accounts is revoked."
    )
    blocked_reason: ShortText | None = Field(None, description="Why the Safe is blocked; required when blocked.")
    members: list[Member] = Field(
        default_factory=list, max_length=MAX_MEMBERS, description="Who may request access, and when."
    )
    approvers: Approvers = Field(
        default_factory=Approvers, description="Who may review requests.", json_schema_extra={"default": {}}
    )
    policy: SafePolicy = Field(
        default_factory=SafePolicy, description="How requests are decided.", json_schema_extra={"default": {}}
    )
    schedules: list[Schedule] = Field(
        default_factory=list,
        max_length=MAX_SCHEDULES,
        description="Named sets of time windows that members may be limited to.",
        json_schema_extra=list_map("name"),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        # Mirrors the CEL rules, so an invalid Safe built in Python fails as early as one sent to the API.
        if self.blocked and not self.blocked_reason:
            raise ValueError("blockedReason is required when the Safe is blocked")
        _schedule_names_known(self)
        return self

    def schedule(self, name: str) -> Schedule | None:
        return next((s for s in self.schedules if s.name == name), None)


class SafeStatus(ApiModel):
    """The observed state of a Safe."""

    conditions: list[Condition] = Field(
        default_factory=list, max_length=16, description="Ready, and why not.", json_schema_extra=list_map("type")
    )
    observed_generation: int | None = Field(None, ge=0, description="The generation the status describes.")
    accounts: int = Field(0, ge=0, description="How many Accounts refer to this Safe.")
    pending_requests: int = Field(0, ge=0, description="How many requests for its accounts await review.")
    active_grants: int = Field(0, ge=0, description="How many grants of its accounts are active now.")


class Safe(Resource):
    """A Safe: the policy that decides who may request its Accounts, who approves, when and for how long."""

    crd: ClassVar[CrdOptions] = CrdOptions(
        plural="safes",
        singular="safe",
        short_names=("safe",),
        printer_columns=(
            PrinterColumn("Blocked", ".spec.blocked", "boolean"),
            PrinterColumn("Approvals", ".spec.policy.requiredApprovals", "integer", "Approvals required"),
            PrinterColumn("Accounts", ".status.accounts", "integer"),
            PrinterColumn("Pending", ".status.pendingRequests", "integer"),
            PrinterColumn("Active", ".status.activeGrants", "integer"),
            PrinterColumn("Ready", '.status.conditions[?(@.type=="Ready")].status'),
            AGE_COLUMN,
        ),
    )

    kind: Literal["Safe"] = Field("Safe", description="Safe.")
    spec: SafeSpec = Field(description="The Safe's policy.")
    status: SafeStatus = Field(default_factory=SafeStatus, description="The Safe's observed state.")
