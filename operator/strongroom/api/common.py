"""Building blocks shared by every kind: the model base, bounded string types, times, conditions,
history entries, references, and the CRD options each kind declares next to its model.

Nothing here does I/O. Strings carry `maxLength` and lists `maxItems` because the API server
estimates the cost of every CEL rule from those bounds and refuses a CRD whose rules could be too
expensive on unbounded input.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
)
from pydantic.alias_generators import to_camel

from strongroom.api.group import API_VERSION

# --- patterns -------------------------------------------------------------------------------------

# RE2-compatible (the API server's regex engine): no look-arounds. "1h30m", "90m", "2d", "45s". The
# digits are bounded so that no value can overflow anything; MAX_DURATION bounds the total.
DURATION_PATTERN = r"^([0-9]{1,4}d)?([0-9]{1,6}h)?([0-9]{1,8}m)?([0-9]{1,9}s)?$"
MAX_DURATION = timedelta(days=366)
# Times the API accepts end well before Python's (and Go's) datetime.max, so any time plus any duration
# the API accepts stays representable.
LATEST_TIME = "9000-01-01T00:00:00Z"
DNS1123_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS1123_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
HHMM_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"

HISTORY_LIMIT = 100

# --- bounded string types -------------------------------------------------------------------------

_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def duration_seconds(text: str) -> int:
    """The total of a duration that matches DURATION_PATTERN, in seconds."""
    return sum(int(amount) * _UNIT_SECONDS[unit] for amount, unit in re.findall(r"([0-9]+)([dhms])", text))


def _bounded_duration(text: str) -> str:
    if not 0 < duration_seconds(text) <= MAX_DURATION.total_seconds():
        raise ValueError(f"{text!r} must be longer than zero and at most {MAX_DURATION.days}d")
    return text


def _cel_duration_total() -> str:
    def part(unit: str) -> str:
        return (f"(self.find('[0-9]+{unit}') == '' ? 0 : "
                f"int(self.find('[0-9]+{unit}').replace('{unit}', ''))) * {_UNIT_SECONDS[unit]}")
    return " + ".join(part(unit) for unit in "dhms")


Duration = Annotated[
    str,
    Field(min_length=2, max_length=32, pattern=DURATION_PATTERN, json_schema_extra={"x-kubernetes-validations": [{
        "rule": f"{_cel_duration_total()} > 0 && {_cel_duration_total()} <= {int(MAX_DURATION.total_seconds())}",
        "message": f"must be longer than zero and at most {MAX_DURATION.days}d"}]}),
    AfterValidator(_bounded_duration),
]
ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=DNS1123_SUBDOMAIN_PATTERN)]
NamespaceName = Annotated[str, Field(min_length=1, max_length=63, pattern=DNS1123_LABEL_PATTERN)]
# Kubernetes user names such as system:serviceaccount:<ns>:<name> can exceed 300 characters.
UserName = Annotated[str, Field(min_length=1, max_length=512)]
GroupName = Annotated[str, Field(min_length=1, max_length=512)]
ShortText = Annotated[str, Field(max_length=1024)]
Signature = Annotated[str, Field(max_length=256)]
Reason = Annotated[str, Field(max_length=128)]
Message = Annotated[str, Field(max_length=4096)]
HourMinute = Annotated[str, Field(pattern=HHMM_PATTERN, max_length=5)]

# --- times ----------------------------------------------------------------------------------------


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with a `Z`, as Kubernetes writes its own times."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _as_utc(value: datetime) -> datetime:
    # A naive datetime is a bug in the caller (it would compare wrongly with aware ones): refuse it.
    if value.tzinfo is None:
        raise ValueError("times must carry a time zone, e.g. 2025-01-31T12:00:00Z")
    if value >= datetime.fromisoformat(LATEST_TIME.replace("Z", "+00:00")):
        raise ValueError(f"times must be before {LATEST_TIME}")
    return value.astimezone(UTC)


Time = Annotated[
    datetime,
    AfterValidator(_as_utc),
    PlainSerializer(format_time, return_type=str, when_used="json"),
    Field(json_schema_extra={"x-kubernetes-validations": [{
        "rule": f"self < timestamp('{LATEST_TIME}')", "message": f"must be before {LATEST_TIME}"}]}),
]

# --- schema helpers -------------------------------------------------------------------------------


def cel(rule: str, message: str, *, field_path: str | None = None, reason: str | None = None) -> dict[str, str]:
    """One `x-kubernetes-validations` entry."""
    entry = {"rule": rule, "message": message}
    if field_path:
        entry["fieldPath"] = field_path
    if reason:
        entry["reason"] = reason
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    return {"x-kubernetes-validations": list(rules)}


def list_map(*keys: str) -> dict[str, Any]:
    """A list whose items are identified by `keys` (unique, merged by key in server-side apply)."""
    return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(keys)}


LIST_SET: dict[str, Any] = {"x-kubernetes-list-type": "set"}

# --- the model base -------------------------------------------------------------------------------


class ApiModel(BaseModel):
    """snake_case in Python, camelCase on the wire; unknown fields are ignored when parsing."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="ignore",
    )


class ConditionStatus(enum.StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """One aspect of the object's current state, in the Kubernetes conditions convention."""

    type: Annotated[str, Field(min_length=1, max_length=316)] = Field(
        description="The aspect this condition describes, in CamelCase (e.g. Ready, Approved, SecretWritten)."
    )
    status: ConditionStatus = Field(description="Whether the condition holds: True, False or Unknown.")
    reason: Reason = Field("", description="A CamelCase, machine-readable reason for the condition's last transition.")
    message: Message = Field("", description="A human-readable explanation; never contains a secret value.")
    last_transition_time: Time = Field(description="When the status last changed (not when the reason or message did).")
    observed_generation: int | None = Field(
        None, ge=0, description="The metadata.generation the condition was computed from."
    )


def find_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def set_condition(conditions: Sequence[Condition], new: Condition) -> list[Condition]:
    """A new list with `new` replacing the condition of the same type (or appended).

    The lastTransitionTime of `new` is kept only when the status changes: a reconcile that repeats
    the same status must not look like a fresh transition.
    """
    old = find_condition(conditions, new.type)
    if old is not None and old.status == new.status:
        new = new.model_copy(update={"last_transition_time": old.last_transition_time})
    replaced = [new if c.type == new.type else c for c in conditions]
    return replaced if old is not None else [*replaced, new]


class HistoryEntry(ApiModel):
    """One event in the object's life (Centrify's job history); never holds a secret value."""

    time: Time = Field(description="When it happened.")
    actor: UserName = Field(description="Who caused it: a user name, or the operator's own identity.")
    event: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="What happened, in CamelCase (e.g. Created, Approved, SecretWritten, Expired)."
    )
    message: ShortText = Field("", description="A human-readable detail.")


# A status's bounded history: the first entry (creation) and the latest ones are kept.
History = Annotated[
    list[HistoryEntry],
    Field(default_factory=list, max_length=HISTORY_LIMIT, description="What happened, oldest first (bounded)."),
]


def append_history(
    history: Sequence[HistoryEntry], entry: HistoryEntry, limit: int = HISTORY_LIMIT
) -> list[HistoryEntry]:
    """A new list with `entry` appended, keeping the first entry (creation) and the latest ones."""
    entries = [*history, entry]
    if len(entries) <= limit:
        return entries
    return [entries[0], *entries[len(entries) - limit + 1 :]]


class ObjectRef(ApiModel):
    """A reference to an object by name; without a namespace it is the referrer's own namespace."""

    namespace: NamespaceName | None = Field(
        None, description="The namespace of the object; empty means the referring object's namespace."
    )
    name: ObjectName = Field(description="The name of the object.")


class AccountRef(ApiModel):
    """A reference to an Account, which usually lives in another namespace than the referrer."""

    namespace: NamespaceName = Field(description="The namespace of the Account (and of its Safe).")
    name: ObjectName = Field(description="The name of the Account.")

    @property
    def key(self) -> tuple[str, str]:
        """(namespace, name): what two references to the same Account share."""
        return self.namespace, self.name


# --- CRD options declared next to each kind --------------------------------------------------------


@dataclass(frozen=True)
class PrinterColumn:
    """A column of `kubectl get`."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0
    format: str | None = None

    def to_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.format:
            column["format"] = self.format
        if self.description:
            column["description"] = self.description
        if self.priority:
            column["priority"] = self.priority
        column["jsonPath"] = self.json_path
        return column


AGE_COLUMN = PrinterColumn("Age", ".metadata.creationTimestamp", "date")


@dataclass(frozen=True)
class CrdOptions:
    """What a CustomResourceDefinition says about a kind besides its schema."""

    plural: str
    singular: str
    short_names: tuple[str, ...]
    printer_columns: tuple[PrinterColumn, ...]
    categories: tuple[str, ...] = ("strongroom",)
    # JSON paths the API server filters on (`--field-selector`), so the operator lists only what a
    # decision needs instead of every object of the kind.
    selectable_fields: tuple[str, ...] = ()
    # The longest metadata.name the kind accepts (names derived from it must stay valid).
    name_limit: int = 253


# --- the kind base --------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    # Objects from kopf or the kubernetes client are Mapping views, not dicts; pydantic wants dicts.
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


class Resource(ApiModel):
    """The envelope of a Strongroom object: apiVersion, kind, metadata, spec and status."""

    crd: ClassVar[CrdOptions]

    api_version: str = Field(API_VERSION, description="The API group and version.")
    kind: str = Field("", description="The kind; each kind narrows it to its own name.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Standard object metadata.")

    @field_validator("api_version")
    @classmethod
    def _served_version(cls, value: str) -> str:
        if value != API_VERSION:
            raise ValueError(f"apiVersion must be {API_VERSION}, not {value}")
        return value

    @field_validator("status", mode="before", check_fields=False)
    @classmethod
    def _missing_status(cls, value: Any) -> Any:
        # A freshly created object has no status (or a null one) until the operator writes it.
        return {} if value is None else value

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> Self:
        """Parse an object as read from the API server; fields this version does not know are ignored,
        and so are managedFields (kept by the API server; often most of an object's size in memory)."""
        plain = _plain(obj)
        if isinstance(plain.get("metadata"), dict):
            plain["metadata"].pop("managedFields", None)
        return cls.model_validate(plain)

    def to_object(self) -> dict[str, Any]:
        """The object in wire form: camelCase keys, RFC 3339 times, no nulls.

        Fields never set are left out rather than written as their defaults: the API server applies
        its own defaults, and a read-modify-write keeps exactly the stored shape (the CEL rule that
        keeps reviews permanent compares entries exactly, so `groups: []` added to a stored review
        that had no `groups` would read as a change).
        """
        body = self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)
        return {"apiVersion": self.api_version, "kind": self.kind, **body}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name", ""))

    @property
    def namespace(self) -> str:
        return str(self.metadata.get("namespace", ""))

    @property
    def generation(self) -> int:
        return int(self.metadata.get("generation", 0))

    @property
    def uid(self) -> str:
        return str(self.metadata.get("uid", ""))

    @property
    def created(self) -> datetime:
        """metadata.creationTimestamp; the API server sets it on every stored object."""
        return datetime.fromisoformat(str(self.metadata["creationTimestamp"]).replace("Z", "+00:00"))


def cel_unchanged_except(field_names: Sequence[str], message: str, when: str = "") -> dict[str, str]:
    """A transition rule: every named (wire) field keeps its presence and value (once `when` holds).

    Per-field `self == oldSelf` rules do not run when a field is added or removed, so the rule is
    written once on the parent object and checks presence with has() as well.
    """
    clauses = [
        f"has(self.{name}) == has(oldSelf.{name}) && (!has(self.{name}) || self.{name} == oldSelf.{name})"
        for name in field_names
    ]
    rule = " && ".join(f"({clause})" for clause in clauses)
    return cel(f"!({when}) || ({rule})" if when else rule, message)


def cel_never_cleared(field_names: Sequence[str], message: str) -> dict[str, str]:
    """A transition rule: once set, none of the named (wire) fields is removed again."""
    return cel(" && ".join(f"(!has(oldSelf.{name}) || has(self.{name}))" for name in field_names), message)


def wire_names(model: type[BaseModel], *, exclude: Sequence[str] = ()) -> list[str]:
    """The wire (alias) names of a model's fields, in declaration order."""
    return [
        info.alias or name
        for name, info in model.model_fields.items()
        if name not in exclude and (info.alias or name) not in exclude
    ]
