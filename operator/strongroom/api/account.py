"""Account: a vaulted credential in the Safe's namespace."""

from __future__ import annotations

import enum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from strongroom.api.common import (
    AGE_COLUMN,
    ApiModel,
    Condition,
    CrdOptions,
    Duration,
    Message,
    ObjectName,
    PrinterColumn,
    Resource,
    ShortText,
    Time,
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


class RotationProvider(enum.StrEnum):
    LOCAL = "local"
    POSTGRESQL = "postgresql"


class PasswordPolicy(ApiModel):
    """What a generated password looks like."""

    length: int = Field(32, ge=12, le=128, description="How many characters.")
    lowercase: bool = Field(True, description="Include a-z (at least one).")
    uppercase: bool = Field(True, description="Include A-Z (at least one).")
    digits: bool = Field(True, description="Include 0-9 (at least one).")
    symbols: bool = Field(False, description="Include punctuation (at least one).")
    avoid: Annotated[str, Field(max_length=128)] = Field(
        "", description="Characters never to use (e.g. quotes a target mishandles)."
    )


class ManagementCredential(ApiModel):
    """The privileged login the postgresql provider uses to change the role's password."""

    username: Annotated[str, Field(min_length=1, max_length=512)] = Field(description="The management login.")
    secret_ref: SecretRef = Field(description="The Secret (same namespace) holding the management password.")
    database: Annotated[str, Field(min_length=1, max_length=63)] = Field(
        "postgres", description="The database to connect to."
    )


class AccountMode(enum.StrEnum):
    STATIC = "static"
    DYNAMIC = "dynamic"


class RotationSpec(ApiModel):
    """When and how the Account's password is changed."""

    on_release: bool = Field(False, description="Rotate when a grant of this account ends (expiry, release, revoke).")
    schedule: Duration | None = Field(None, description="Rotate at least this often (e.g. 24h, 30d).")
    provider: RotationProvider = Field(
        RotationProvider.LOCAL,
        description="local (only the vault is updated) or postgresql (the role's password is changed on the server).",
    )
    password_policy: PasswordPolicy = Field(default_factory=PasswordPolicy, description="The new password's shape.")
    requested_at: Time | None = Field(
        None, description="Set (e.g. by `strongroom rotate`) to ask for a rotation now; newer than the last one."
    )


class AccountSpec(ApiModel):
    """What the credential is and where its material is kept."""

    model_config = ApiModel.model_config | {"json_schema_extra": validations(cel(
        "!has(self.mode) || self.mode != 'dynamic' || (self.type == 'postgresql' && has(self.templateRole) "
        "&& has(self.management))",
        "mode dynamic needs type postgresql, templateRole and management"))}

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
    rotation: RotationSpec | None = Field(None, description="Password rotation; none when unset.")
    management: ManagementCredential | None = Field(
        None, description="For postgresql rotation and dynamic mode: the login that may change and create roles."
    )
    mode: AccountMode = Field(
        AccountMode.STATIC,
        description="static (the vaulted password is delivered) or dynamic (postgresql: a fresh login role per grant, "
        "member of templateRole, valid until the grant's notAfter, dropped when it ends).",
    )
    template_role: Annotated[str, Field(min_length=1, max_length=63)] | None = Field(
        None, description="For dynamic mode: the role whose privileges each per-grant role inherits."
    )


class RotationResult(enum.StrEnum):
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


class RotationStatus(ApiModel):
    """The last rotation, never the value."""

    last_rotated: Time | None = Field(None, description="When the password last changed.")
    last_attempt: Time | None = Field(None, description="When a rotation was last tried.")
    last_result: RotationResult | None = Field(None, description="Succeeded or Failed.")
    next_scheduled: Time | None = Field(None, description="When the schedule rotates next.")
    failures: int = Field(0, ge=0, description="Failed attempts since the last success (drives the backoff).")
    message: Message = Field("", description="What happened last; never a secret value.")


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
    rotation: RotationStatus | None = Field(None, description="The password rotation, when the Account has one.")


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
            PrinterColumn("Rotated", ".status.rotation.lastRotated", "date"),
            AGE_COLUMN,
        ),
        selectable_fields=(".spec.safe",),
    )

    kind: Literal["Account"] = Field("Account", description="Account.")
    spec: AccountSpec = Field(description="The credential.")
    status: AccountStatus = Field(default_factory=AccountStatus, description="The Account's observed state.")
