"""An Account as a rotation or per-grant-role target: with its management password, read from the
vault, when the Account names one."""

from __future__ import annotations

from strongroom.api.account import Account
from strongroom.kube import reads
from strongroom.kube.rest import Kube
from strongroom.rotation.providers.base import Target


def management_target(kube: Kube, account: Account) -> Target:
    management = account.spec.management
    if management is None:
        return Target(account)
    found = reads.material(kube, account, management.secret_ref.name)
    password = found.get(management.secret_ref.password_key)
    return Target(account, password.decode() if password is not None else None)
