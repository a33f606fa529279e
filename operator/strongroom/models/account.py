"""Account: a vaulted credential in the Safe's namespace."""

from __future__ import annotations

import enum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from strongroom.models.common import (
    AGE_COLUMN,
    ApiModel,
    Condition,
    CrdOptions,
    ObjectName,
    PrinterColumn,
    Resource,
    ShortText,
    UserName,
    cel,
    list_map,
    validations,
)

SecretKey = Annotated[str, Field(min_length=1, max_length=253, pattern=r"^[-._a-zA-Z0-9]+$")]


class AccountType(enum.StrEnum):
    GENERIC = "generic"
    POSTGRESQL = "postgresql"
    SSH = "ssh"
    KUBERNETES_SERVICE_ACCOUNT = "kubernetes-serviceaccount"


class SecretRef(ApiModel):
    """The Secret in the Account's namespace that holds the credential material."""

    name: ObjectName = Field(description="The name of the Secret.")
    password_key: SecretKey = Field("password", description="The key in the Secret that holds the password.")


class AccountSpec(ApiModel):
    """What the credential is and where its material is kept."""

    safe: ObjectName = Field(
        description="The name of the Safe (in the same namespace) whose policy governs this Account. "
        "Cannot be changed.",
        json_schema_extra=validations(cel("self == oldSelf", "safe cannot be changed")),
    )
    username: Annotated[str, Field(min_length=1, max_length=512)] = Field(
        description="The account's user name, delivered with the credential."
    )
    host: Annotated[str, Field(max_length=253)] | None = Field(None, description="The host the account is for.")
    port: int | None = Field(None, ge=1, le=65535, description="The port the account is for.")
    type: AccountType = Field(
        AccountType.GENERIC,
        description="What kind of credential this is: generic, postgresql, ssh or kubernetes-serviceaccount.",
    )
    secret_ref: SecretRef = Field(description="The Secret holding the material (password and/or other keys).")
    fields: dict[str, ShortText] = Field(
        default_factory=dict,
        max_length=64,
        description="Extra non-secret key/values delivered with the credential (custom fields, a URL, notes).",
    )


class AccountStatus(ApiModel):
    """The observed state of an Account."""

    conditions: list[Condition] = Field(
        default_factory=list,
        max_length=16,
        description="Ready (false with a reason when the Secret or the Safe is missing).",
        json_schema_extra=list_map("type"),
    )
    observed_generation: int | None = Field(None, ge=0, description="The generation the status describes.")
    request_required: bool = Field(
        True, description="Whether access needs an AccessRequest (false only when the Safe auto-approves)."
    )
    active_holder: UserName | None = Field(
        None, description="Who holds the account now, when the Safe's check-out is exclusive."
    )
    active_grant: ObjectName | None = Field(None, description="The Grant holding the account, with activeHolder.")


class Account(Resource):
    """An Account: a vaulted credential governed by a Safe in the same namespace."""

    crd: ClassVar[CrdOptions] = CrdOptions(
        plural="accounts",
        singular="account",
        short_names=("acct",),
        printer_columns=(
            PrinterColumn("Safe", ".spec.safe"),
            PrinterColumn("Username", ".spec.username"),
            PrinterColumn("Host", ".spec.host"),
            PrinterColumn("Type", ".spec.type"),
            PrinterColumn("Holder", ".status.activeHolder"),
            PrinterColumn("Ready", '.status.conditions[?(@.type=="Ready")].status'),
            AGE_COLUMN,
        ),
    )

    kind: Literal["Account"] = Field("Account", description="Account.")
    spec: AccountSpec = Field(description="The credential.")
    status: AccountStatus = Field(default_factory=AccountStatus, description="The Account's observed state.")
