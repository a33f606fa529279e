"""LeaderFence: which operator replica the API server accepts writes from.

Kept next to the leader Lease by whichever replica leads, and read by the admission policy
`strongroom-operator-fence` as its parameter (a custom resource, not the Lease itself: Kubernetes
1.34 stops following a built-in parameter kind's objects once a policy using it is deleted and
created again, while it follows custom resources correctly)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from strongroom.api.common import AGE_COLUMN, ApiModel, CrdOptions, PrinterColumn, Resource


class LeaderFenceSpec(ApiModel):
    holder: Annotated[str, Field(max_length=253)] = Field(
        "", description="The pod name of the replica that holds the leader Lease; empty: nobody."
    )


class LeaderFence(Resource):
    """A LeaderFence: the one operator replica whose writes the API server accepts."""

    crd: ClassVar[CrdOptions] = CrdOptions(
        plural="leaderfences",
        singular="leaderfence",
        short_names=("fence",),
        printer_columns=(PrinterColumn("Holder", ".spec.holder"), AGE_COLUMN),
        categories=(),
    )

    kind: Literal["LeaderFence"] = Field("LeaderFence", description="LeaderFence.")
    spec: LeaderFenceSpec = Field(default_factory=LeaderFenceSpec, description="Who writes.")
